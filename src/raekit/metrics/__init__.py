"""Evaluation metrics as features -> statistics -> distance: FID, PRD and their feature extractors."""

from raekit.metrics.features import FeatureExtractor, get_extractor
from raekit.metrics.fid import feature_statistics, frechet_distance, frechet_distance_from_stats
from raekit.metrics.prd import prd, prd_f_beta

__all__ = [
    "FeatureExtractor",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_stats",
    "get_extractor",
    "prd",
    "prd_f_beta",
]

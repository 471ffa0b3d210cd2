"""Evaluation metrics as features -> statistics -> distance: FID, PRD and their feature extractors."""
from raekit.metrics.features import FeatureExtractor, get_extractor
from raekit.metrics.fid import feature_statistics, frechet_distance, frechet_distance_from_stats
from raekit.metrics.prd import prd, prd_f_beta
from raekit.metrics.stats_cache import cached_reference_statistics

__all__ = ["FeatureExtractor", "cached_reference_statistics", "feature_statistics", "frechet_distance",
           "frechet_distance_from_stats", "get_extractor", "prd", "prd_f_beta"]

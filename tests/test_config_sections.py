"""RunConfig's sections: every field in exactly one, config.yaml written by section and read back
(flat files without section lines too, as `--set` and older runs name the keys)."""

import dataclasses

import yaml

from raekit import runs
from raekit.config import SECTIONS, RunConfig, config_sections, make_config


def test_every_field_is_in_exactly_one_section_in_field_order():
    names = [name for section in SECTIONS.values() for name in section]
    assert names == [f.name for f in dataclasses.fields(RunConfig)]
    assert list(SECTIONS) == ["data", "model", "training", "density", "evaluation"]
    assert {"epochs", "lr", "seed"} <= set(SECTIONS["training"])
    assert {"gmm_components", "two_stage_lr"} <= set(SECTIONS["density"])
    assert SECTIONS["evaluation"] == ("eval_images", "rec_sampled", "rec_second_stage")


def test_config_yaml_is_written_by_section_and_read_back(tmp_path):
    config = make_config("digits", "vae", "tiny", epochs=3, gmm_components=4)
    runs.write_config(tmp_path, config)
    text = (tmp_path / runs.CONFIG_FILE).read_text()
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("#")] == [f"# {s}" for s in SECTIONS]
    assert lines.index("# training") < lines.index("epochs: 3") < lines.index("# density")
    assert runs.read_config(tmp_path) == config
    assert config_sections(config)["density"]["gmm_components"] == 4
    flat = tmp_path / "flat"
    flat.mkdir()  # a flat file in field order, as older runs have
    (flat / runs.CONFIG_FILE).write_text(yaml.safe_dump(dataclasses.asdict(config)))
    assert runs.read_config(flat) == config

"""docs/ARCHITECTURE.md's account of the NLU pipeline names what bot/config.yml runs, in its
order, and every file it points a reader to exists."""

from __future__ import annotations

import re

import yaml

from tests.support.docs import ARCHITECTURE, ROOT, code_spans, section

POLICY_ANSWERS = section(ARCHITECTURE, "## Policy answers")
# The bullet list after "The pipeline (`bot/config.yml`):", up to the first sub-heading.
PIPELINE = POLICY_ANSWERS.split("The pipeline (`bot/config.yml`):", 1)[1].split("\n#", 1)[0]
CONFIG = yaml.safe_load((ROOT / "bot" / "config.yml").read_text(encoding="utf-8"))
PROJECT_DIRS = {
    "actions",
    "api",
    "bot",
    "contract",
    "data",
    "docs",
    "ops",
    "privacy",
    "scripts",
    "tests",
}


def _class_names(text: str) -> list[str]:
    """Component names as the docs write them: a class name in backticks, in order."""
    names = [s for s in code_spans(text) if re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+", s)]
    return list(dict.fromkeys(names))


def test_the_pipeline_section_names_the_configured_components_in_order() -> None:
    configured = [str(c["name"]).rsplit(".", 1)[-1] for c in CONFIG["pipeline"]]
    assert _class_names(PIPELINE) == configured


def test_every_configured_custom_component_is_a_class_of_its_module() -> None:
    for component in CONFIG["pipeline"]:
        name = str(component["name"])
        if "." not in name:
            continue  # Rasa's own
        module, cls = name.rsplit(".", 1)
        path = ROOT / (module.replace(".", "/") + ".py")
        assert path.is_file(), f"{name}: no {path.relative_to(ROOT)}"
        assert re.search(rf"^class {cls}\b", path.read_text("utf-8"), re.M), f"{name}: no class"


def test_every_project_path_of_the_policy_answers_section_exists() -> None:
    paths = [
        span
        for span in code_spans(POLICY_ANSWERS)
        if "/" in span
        and span.split("/", 1)[0] in PROJECT_DIRS
        and not re.search(r"[<>\s:#]", span)  # placeholders and URLs: policy/<brand>#part-5-3
    ]
    assert len(paths) > 20, paths  # the section was found and read
    missing = [p for p in paths if not (list(ROOT.glob(p)) if "*" in p else (ROOT / p).exists())]
    assert not missing, f"docs/ARCHITECTURE.md names paths that do not exist: {missing}"

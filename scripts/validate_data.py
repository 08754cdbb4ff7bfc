"""The checks of `rasa data validate --fail-on-warnings`, with one Rasa false alarm understood.

    PYTHONPATH=. .venv-bot/bin/python scripts/validate_data.py

Rasa warns about every response that no story or rule names. Most of this domain's responses
are chosen by the custom actions (the form's questions, verification outcomes, ticket replies),
so such a warning is accepted only for a response the action code names, literally
(`response="utter_code_sent"`) or as the prefix of a composed name
(`f"utter_confirm_{request_type}"`), or one that data/policy/offers.yml names as an offer's
response (actions/offers.py utters it). A response nothing uses still fails, as does every other
warning, story conflict or error, except two notices Rasa gives for any project: slot
auto-fill's removal in 3.0, and the duplicate its importer makes itself when it adds the
retrieval intent found in the NLU data to a domain that already lists it.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESPONSE_NAME = re.compile(r"""["'](utter_[a-z0-9_]+)["']""")
RESPONSE_PREFIX = re.compile(r"""f["'](utter_[a-z0-9_]*)\{""")
UNUSED = re.compile(r"The utterance '(utter_[a-z0-9_]+)' is not used in any story or rule")
# Notices Rasa raises whatever the project holds.
RASA_NOTICES = (
    "duplicated intents have been found across multiple domain files: ask_policy",
    "Slot auto-fill has been removed in 3.0",
)


def responses_named_by_actions() -> tuple[set[str], set[str]]:
    names: set[str] = set()
    prefixes: set[str] = set()
    for path in sorted((ROOT / "actions").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        names |= set(RESPONSE_NAME.findall(text))
        prefixes |= set(RESPONSE_PREFIX.findall(text))
    import yaml

    offers = yaml.safe_load((ROOT / "data" / "policy" / "offers.yml").read_text(encoding="utf-8"))
    names |= {str(offer["response"]) for offer in (offers.get("offers") or {}).values()}
    return names, prefixes


class _Conflicts(logging.Handler):
    """Story conflicts are logged, not warned: collect them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main() -> int:
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    conflicts = _Conflicts()
    logging.getLogger("rasa.validator").addHandler(conflicts)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        importer = TrainingDataImporter.load_from_config(
            config_path=str(ROOT / "bot" / "config.yml"),
            domain_path=str(ROOT / "bot" / "domain"),
            training_data_paths=[str(ROOT / "data")],
        )
        validator = Validator.from_importer(importer)
        checks = {
            "domain": validator.verify_domain_validity(),
            "actions in stories and rules": validator.verify_actions_in_stories_rules(),
            "forms in stories and rules": validator.verify_forms_in_stories_rules(),
            "form slots": validator.verify_form_slots(),
            "slot mappings": validator.verify_slot_mappings(),
            "NLU data and responses": validator.verify_nlu(ignore_warnings=True),
            "story structure": validator.verify_story_structure(ignore_warnings=True),
        }

    names, prefixes = responses_named_by_actions()
    accepted: list[str] = []
    problems: list[str] = [f"check failed: {name}" for name, ok in checks.items() if not ok]
    for warning in caught:
        if not issubclass(warning.category, UserWarning):
            continue  # library deprecations, not findings about the project
        message = str(warning.message)
        unused = UNUSED.search(message)
        if unused:
            response = unused.group(1)
            if response in names or any(response.startswith(p) for p in prefixes):
                accepted.append(response)
                continue
            problems.append(f"{response} is used by no story, rule or action")
        elif not any(notice in message for notice in RASA_NOTICES):
            problems.append(message.splitlines()[0])
    problems += [f"story conflict: {message}" for message in conflicts.messages]

    print(f"validate: {len(accepted)} responses are used only by actions (accepted)")
    for problem in problems:
        print(f"validate: {problem}")
    if problems:
        print(f"validate: {len(problems)} problems")
        return 1
    print("validate: no problems")
    return 0


if __name__ == "__main__":
    sys.exit(main())

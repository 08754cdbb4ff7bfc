"""The vocabulary the three processes share: the rights API, the action server and the bot.

Closed sets (brands, ticket types, statuses, channels, languages, actors) are enums here; what each
ticket type needs, whether it takes effect at once, and the labels in both languages are read from
`data/policy/rights.yml`, next to the consent purposes and deletion grounds they go with. Nothing
here imports a runtime's libraries: the standard library and PyYAML, which every runtime carries.
"""

from contract.brands import BRANDS, BrandFacts, brand_facts
from contract.rights import RIGHTS, Rights, TicketTypeRules, load_rights
from contract.vocabulary import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    Actor,
    AnswerKind,
    Assurance,
    Brand,
    Channel,
    Language,
    ReviewMark,
    Status,
    TicketType,
    WayThrough,
)

__all__ = [
    "BRANDS",
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "RIGHTS",
    "Actor",
    "AnswerKind",
    "Assurance",
    "Brand",
    "BrandFacts",
    "Channel",
    "Language",
    "ReviewMark",
    "Rights",
    "Status",
    "TicketType",
    "TicketTypeRules",
    "WayThrough",
    "brand_facts",
    "load_rights",
]

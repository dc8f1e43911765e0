"""All ORM models. Importing this package registers every table on ``Base.metadata``."""

from register.models.achievement import Achievement, AchievementAttachment, AchievementVersion
from register.models.audit import AuditEvent
from register.models.base import Base
from register.models.batch import ImportBatch, ImportBatchChunk, ImportRejection
from register.models.oots import OotsPreview
from register.models.organisation import Organisation, OrganisationCode, organisation_delivery
from register.models.person import Person, PersonHistory, PersonIdentifier
from register.models.specification import LearningSpecification
from register.models.stats import StatsCell, StatsPending, StatsPersonCell, StatsState

__all__ = [
    "Achievement",
    "AchievementAttachment",
    "AchievementVersion",
    "AuditEvent",
    "Base",
    "ImportBatch",
    "ImportBatchChunk",
    "ImportRejection",
    "LearningSpecification",
    "OotsPreview",
    "Organisation",
    "OrganisationCode",
    "Person",
    "PersonHistory",
    "PersonIdentifier",
    "StatsCell",
    "StatsPending",
    "StatsPersonCell",
    "StatsState",
    "organisation_delivery",
]

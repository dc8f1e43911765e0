"""All ORM models. Importing this package registers every table on ``Base.metadata``."""

from register.models.achievement import Achievement, AchievementAttachment, AchievementVersion
from register.models.audit import AuditEvent
from register.models.base import Base
from register.models.batch import ImportBatch, ImportBatchChunk, ImportRecord, ImportRejection, KnownInput
from register.models.citizen import CitizenSession, ShareLink
from register.models.oots import OotsPreview
from register.models.organisation import Organisation, OrganisationCode, organisation_delivery
from register.models.person import Person, PersonHistory, PersonIdentifier
from register.models.specification import LearningSpecification
from register.models.stats import StatsCell, StatsPending, StatsPersonCell, StatsState
from register.models.wallet import WalletAccessToken, WalletCredential, WalletNonce, WalletOffer

__all__ = [
    "Achievement",
    "AchievementAttachment",
    "AchievementVersion",
    "AuditEvent",
    "Base",
    "CitizenSession",
    "ImportBatch",
    "ImportBatchChunk",
    "ImportRecord",
    "ImportRejection",
    "KnownInput",
    "LearningSpecification",
    "OotsPreview",
    "Organisation",
    "OrganisationCode",
    "Person",
    "PersonHistory",
    "PersonIdentifier",
    "ShareLink",
    "StatsCell",
    "StatsPending",
    "StatsPersonCell",
    "StatsState",
    "WalletAccessToken",
    "WalletCredential",
    "WalletNonce",
    "WalletOffer",
    "organisation_delivery",
]

"""Typed SQLAlchemy models, split by domain."""
from keloa_web.models.accounts import (
    Availability, BackupCode, EmailChange, Invite, LoginAttempt, PasswordReset, Role, TeamSettings, TwoFactorRule, User,
    UserSession,
)
from keloa_web.models.agents import Agent, Backend, GapKind, KnowledgeEntry, KnowledgeGap
from keloa_web.models.contact_details import ContactField, ContactNote, ContactValue, FieldKind
from keloa_web.models.channels import (
    Assignment, BackfillState, Channel, ChannelStatus, Login, RetentionScope, channel_members,
)
from keloa_web.models.conversations import (
    Attachment, AttachmentStatus, AttachmentType, AuthorType, Change, Contact, Conversation, ConversationStatus,
    Direction, Message, MessageKind, MessageStatus, PendingRead, Reaction, WindowState,
)
from keloa_web.models.events import EventStatus, WebhookEvent
from keloa_web.models.labels import Label, LabelColor, conversation_labels
from keloa_web.models.notifications import Notification, NotificationKind, OutgoingEmail
from keloa_web.models.privacy import DataDeletion
from keloa_web.models.replies import SavedReply, SavedView
from keloa_web.models.reports import ConversationEvent, EventKind

__all__ = [
    "Agent", "Attachment", "BackupCode", "Change", "ConversationEvent", "Channel", "Contact", "ContactField", "ContactNote", "ContactValue", "Conversation", "DataDeletion", "EmailChange", "Invite", "KnowledgeEntry",
    "KnowledgeGap", "Label", "LoginAttempt", "Message", "Notification", "OutgoingEmail", "PasswordReset", "PendingRead", "Reaction", "SavedReply", "SavedView", "TeamSettings", "User", "UserSession", "WebhookEvent",
    # the values of their status-like columns (CHECK constraints in the database)
    "Assignment", "AttachmentStatus", "AttachmentType", "Availability", "AuthorType", "BackfillState", "Backend", "ChannelStatus", "Login",
    "ConversationStatus", "Direction", "EventKind", "EventStatus", "FieldKind", "GapKind", "LabelColor", "MessageKind", "MessageStatus", "NotificationKind", "RetentionScope", "Role",
    "TwoFactorRule", "WindowState",
    # association tables
    "channel_members", "conversation_labels",
]

"""Typed SQLAlchemy models, split by domain."""
from keloa_web.models.accounts import Invite, LoginAttempt, User, UserSession
from keloa_web.models.agents import Agent, KnowledgeEntry
from keloa_web.models.channels import Channel
from keloa_web.models.conversations import Attachment, Change, Contact, Conversation, Message, PendingRead, Reaction
from keloa_web.models.events import WebhookEvent
from keloa_web.models.privacy import DataDeletion

__all__ = [
    "Agent", "Attachment", "Change", "Channel", "Contact", "Conversation", "DataDeletion", "Invite", "KnowledgeEntry",
    "LoginAttempt", "Message", "PendingRead", "Reaction", "User", "UserSession", "WebhookEvent",
]

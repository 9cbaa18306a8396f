"""Tortoise models, one aggregate per module. Only node.services writes them."""

from node.models.accounts import Account, User
from node.models.cameos import Cameo, CameoChallenge, CameoGrantCheck, CameoGrantTombstone, CameoRequestOut, CameoUse
from node.models.conversations import Conversation
from node.models.for_you import ForYouPreference, StatusEngagement, StatusViewerSignal
from node.models.federation import Delivery, DomainHealth, InboxItem, OutboxActivity, Report
from node.models.filters import Filter, FilterKeyword, FilterStatus
from node.models.generation import CopyrightOptOut, GenerationCredits, GenerationJob, PromptRefusal
from node.models.media import MediaAttachment
from node.models.moderation import AccountWarning, DomainBlock
from node.models.lists import ListAccount, UserList
from node.models.markers import Marker
from node.models.notifications import Notification
from node.models.parental import FeedView, GuardianRequest, ParentalControls
from node.models.notification_policy import NotificationPermission, NotificationPolicy, NotificationRequest
from node.models.oauth import OAuthApplication, OAuthCode, OAuthToken
from node.models.social import Block, Bookmark, Favourite, Follow, FollowRequest, Mute
from node.models.push import PushDelivery, WebPushSubscription
from node.models.scheduled import ScheduledStatus
from node.models.stats import AccountStats, StatusStats
from node.models.suggestions import SuggestionDismissal
from node.models.statuses import IdempotencyKey, Mention, Status, StatusEdit, StatusTag, Tag
from node.models.trust import NodeTrust

__all__ = [
    "Account", "User", "MediaAttachment", "Marker", "Notification", "OAuthApplication", "OAuthCode",
    "OAuthToken", "Block", "Bookmark", "Favourite", "Follow", "FollowRequest", "Mute", "IdempotencyKey",
    "Mention", "Status", "StatusEdit", "StatusTag", "Tag", "GenerationJob", "GenerationCredits", "CopyrightOptOut",
    "PromptRefusal", "InboxItem", "OutboxActivity", "Delivery", "DomainHealth", "Report", "NodeTrust",
    "DomainBlock", "AccountWarning", "NotificationPolicy", "NotificationRequest", "NotificationPermission",
    "ScheduledStatus", "SuggestionDismissal", "UserList", "ListAccount", "Filter", "FilterKeyword", "FilterStatus",
    "Conversation", "WebPushSubscription", "PushDelivery", "ParentalControls", "GuardianRequest", "FeedView",
    "Cameo", "CameoChallenge", "CameoGrantCheck", "CameoGrantTombstone", "CameoRequestOut", "CameoUse", "StatusStats", "AccountStats",
    "ForYouPreference", "StatusEngagement", "StatusViewerSignal",
]

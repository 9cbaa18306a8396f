"""Internal models → Mastodon 4.x API JSON (and Vitascope's extensions): the one home of every shape
the API, the streams and the CLI's `--json` print, one module per resource. Serializers read the
database (batched: a page costs a fixed number of queries, whatever its size) but never write it
and never call services; what a shape needs that only a service or Redis knows, the caller loads
and passes in."""

from node.serializers.accounts import (account_counts, account_json, account_one, accounts_many, alias_json,
                                       credential_account, full_acct, relationships)
from node.serializers.cameos import cameo_json, challenge_json, uses_json
from node.serializers.clients import app_json, marker_json, subscription_json, token_json
from node.serializers.common import iso
from node.serializers.discovery import oembed_json, suggestions_json, trending_tag_json
from node.serializers.filters import (ActiveFilters, apply_filters, filter_json, filter_keyword_json,
                                      filter_status_json, filters_json, hides, status_ids_of, v1_filter_json)
from node.serializers.for_you import for_you_json, for_you_preferences_json, why_json
from node.serializers.instance import MASTODON_COMPAT, instance_v1_json, instance_v2_json, version_string
from node.serializers.jobs import STREAM_EVENT, job_json, opt_out_json
from node.serializers.lists import conversations_json, list_json
from node.serializers.media import application_json, media_json, provenance_json
from node.serializers.moderation import (admin_accounts, admin_reports_json, domain_block_json, inbox_item_json,
                                         public_domain_block_json, report_json, warnings_by_id, warnings_json)
from node.serializers.notifications import (GROUP_SPAN_HOURS, GROUPABLE, OWN_TYPES, group_key, notification_groups_json,
                                            notification_requests_json, notifications_json, policy_v1_json,
                                            policy_v2_json)
from node.serializers.parental import controls_json, guardian_request_json
from node.serializers.statuses import (StatusRenderer, scheduled_status_json, status_edits_json, status_json,
                                       status_source_json, statuses_json)

__all__ = [
    "ActiveFilters", "GROUPABLE", "GROUP_SPAN_HOURS", "MASTODON_COMPAT", "OWN_TYPES", "STREAM_EVENT",
    "StatusRenderer", "account_counts", "account_json", "account_one", "accounts_many", "admin_accounts",
    "admin_reports_json", "alias_json", "app_json", "application_json", "apply_filters", "cameo_json",
    "challenge_json", "controls_json", "conversations_json", "credential_account", "domain_block_json",
    "filter_json", "filter_keyword_json", "filter_status_json", "filters_json", "for_you_json",
    "for_you_preferences_json", "full_acct", "group_key", "guardian_request_json", "hides", "inbox_item_json",
    "instance_v1_json", "instance_v2_json", "iso", "job_json", "list_json", "marker_json", "media_json",
    "notification_groups_json", "notification_requests_json", "notifications_json", "oembed_json", "opt_out_json",
    "policy_v1_json", "policy_v2_json", "provenance_json", "public_domain_block_json", "relationships",
    "report_json", "scheduled_status_json", "status_edits_json", "status_ids_of", "status_json",
    "status_source_json", "statuses_json", "subscription_json", "suggestions_json", "token_json",
    "trending_tag_json", "uses_json", "v1_filter_json", "version_string", "warnings_by_id", "warnings_json",
    "why_json",
]

"""Support tickets: visibility, transitions, comments, attachments, assignment and SLA; no HTTP here.

The service API routes, tasks and tests call, gathered from the modules that hold it:
``workflow``, ``events``, ``sla_clock``, ``tickets``, ``comments``, ``attachments``.
"""

from __future__ import annotations

from vetrai.plugins.support.attachments import add_attachment as add_attachment
from vetrai.plugins.support.attachments import attachment_bytes as attachment_bytes
from vetrai.plugins.support.attachments import get_attachment as get_attachment
from vetrai.plugins.support.attachments import too_large as too_large
from vetrai.plugins.support.attachments import visible_attachments as visible_attachments
from vetrai.plugins.support.comments import add_comment as add_comment
from vetrai.plugins.support.comments import visible_comments as visible_comments
from vetrai.plugins.support.events import BODY_EXCERPT as BODY_EXCERPT
from vetrai.plugins.support.events import ticket_event_payload as ticket_event_payload
from vetrai.plugins.support.models import Ticket as Ticket
from vetrai.plugins.support.sla_clock import TICKET_STATE_FIELDS as TICKET_STATE_FIELDS
from vetrai.plugins.support.sla_clock import check_sla_breaches as check_sla_breaches
from vetrai.plugins.support.sla_clock import get_policy as get_policy
from vetrai.plugins.support.sla_clock import policy_of as policy_of
from vetrai.plugins.support.sla_clock import update_policy as update_policy
from vetrai.plugins.support.tickets import REQUESTER_FIELDS as REQUESTER_FIELDS
from vetrai.plugins.support.tickets import create_ticket as create_ticket
from vetrai.plugins.support.tickets import get_ticket as get_ticket
from vetrai.plugins.support.tickets import search_tickets as search_tickets
from vetrai.plugins.support.tickets import update_ticket as update_ticket
from vetrai.plugins.support.tickets import visible_tickets as visible_tickets
from vetrai.plugins.support.tickets import with_people as with_people
from vetrai.plugins.support.workflow import AGENT_ROLES as AGENT_ROLES
from vetrai.plugins.support.workflow import CLOCK_RUNNING as CLOCK_RUNNING
from vetrai.plugins.support.workflow import CLOSED as CLOSED
from vetrai.plugins.support.workflow import IN_PROGRESS as IN_PROGRESS
from vetrai.plugins.support.workflow import OPEN as OPEN
from vetrai.plugins.support.workflow import PENDING as PENDING
from vetrai.plugins.support.workflow import RESOLVED as RESOLVED
from vetrai.plugins.support.workflow import STATUSES as STATUSES
from vetrai.plugins.support.workflow import TRANSITIONS as TRANSITIONS
from vetrai.plugins.support.workflow import is_agent as is_agent
from vetrai.plugins.support.workflow import now as now
from vetrai.plugins.support.workflow import settings as settings

"""Life-event deadline reminders by SMS, opt-in only, from the catalog's deadlines."""

from assistant.reminders.base import DRAFT_TTL, ReminderStore
from assistant.reminders.dates import parse_event_date
from assistant.reminders.menu import (
    ReminderChoice,
    is_cancel_request,
    is_setup_request,
    menu_text,
    pick_choice,
    reminder_choices,
)
from assistant.reminders.records import DraftStage, Reminder, ReminderDraft, ReminderStatus
from assistant.reminders.schedule import (
    ReminderPlan,
    due_date,
    plan_package,
    plan_service,
    reminder_times,
    seoul_today,
)
from assistant.reminders.service import ReminderService, SendSms, SetupResult, dedupe_key
from assistant.reminders.sql import SqlReminderStore

__all__ = [
    "DRAFT_TTL",
    "DraftStage",
    "Reminder",
    "ReminderChoice",
    "ReminderDraft",
    "ReminderPlan",
    "ReminderService",
    "ReminderStatus",
    "ReminderStore",
    "SendSms",
    "SetupResult",
    "SqlReminderStore",
    "dedupe_key",
    "due_date",
    "is_cancel_request",
    "is_setup_request",
    "menu_text",
    "parse_event_date",
    "pick_choice",
    "plan_package",
    "plan_service",
    "reminder_choices",
    "reminder_times",
    "seoul_today",
]

"""What the processor list says of itself, in its header: when it last changed, how long before a new
sub-processor starts customers are told (GDPR Art. 28(2): the notice our contracts promise), and how
to follow its changes.

The last-updated day is the newest entry of the change feed (exports/changes.py), never the last write
to any record: a note edited, or a vendor the list does not name, leaves it as it was. The notice
period and the subscribe address are register settings an admin sets (Settings page); each is shown
only when set.
"""

from dataclasses import dataclass
from datetime import date
from typing import Optional

from sqlalchemy import select

from ..extensions import db
from ..models import Setting
from ..services import EMAIL
from ..services.coerce import URL

PUBLIC_LIST = "public_processor_list"
NOTICE_DAYS = "processor_list_notice_days"
SUBSCRIBE = "processor_list_subscribe"
LONGEST_NOTICE = 365
# A setting's stored value when it is off or made blank (a stored value is never empty).
UNSET = "off"


def settings(*keys: str) -> dict[str, str]:
    """The stored values of these settings (a setting never set, or made blank, is left out)."""
    found = db.session.execute(select(Setting.key, Setting.value).where(Setting.key.in_(keys))).all()
    return {key: value for key, value in found if value and value != UNSET}


def subscribe_problem(value: str) -> Optional[str]:
    """Why a subscribe address cannot be shown to customers (None: it can)."""
    if URL.fullmatch(value) or EMAIL.match(value):
        return None
    return "Give a web address (https://...) or an email address."


@dataclass(frozen=True)
class ListFacts:
    last_updated: Optional[date]
    notice_days: Optional[int]
    subscribe: Optional[str]  # a web address, or an email address
    feed_url: Optional[str]  # the public Atom feed of the changes, when the list is published

    @property
    def subscribe_is_web(self) -> bool:
        return bool(self.subscribe and URL.fullmatch(self.subscribe))

    @property
    def subscribe_href(self) -> Optional[str]:
        if not self.subscribe:
            return None
        return self.subscribe if self.subscribe_is_web else f"mailto:{self.subscribe}"

    @property
    def notice_words(self) -> Optional[str]:
        if self.notice_days is None:
            return None
        days = "1 day" if self.notice_days == 1 else f"{self.notice_days} days"
        return f"We tell customers {days} before a new sub-processor starts processing their personal data."

    def lines(self) -> list[str]:
        """The facts as plain sentences (the downloads' About sheet)."""
        found = [f"Last updated: {self.last_updated.isoformat()} (the date of the latest change to this list)."
                 if self.last_updated else "Last updated: no change to this list is recorded yet."]
        if self.notice_words:
            found.append(self.notice_words)
        if self.feed_url:
            found.append(f"Follow the changes to this list: {self.feed_url} (Atom feed).")
        if self.subscribe:
            how = "subscribe at" if self.subscribe_is_web else "write to"
            found.append(f"To be told of changes, {how} {self.subscribe}.")
        return found


def list_facts(feed_url: Optional[str], client=None) -> ListFacts:
    """The header facts of the processor list as they stand (`feed_url`: the public feed, if published);
    a client's list is as new as the latest change in its chain, with the notice period agreed with it."""
    from .changes import last_updated, list_changes

    stored = settings(NOTICE_DAYS, SUBSCRIBE)
    notice = stored.get(NOTICE_DAYS)
    days = int(notice) if notice and notice.isdigit() else None
    if client is not None and client.notice_period_days is not None:
        days = client.notice_period_days
    return ListFacts(last_updated(list_changes(limit=1, client_id=client.id if client is not None else None)), days,
                     stored.get(SUBSCRIBE), feed_url)

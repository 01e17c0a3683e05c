"""What a record type is: its model, form and fieldsets, list columns, filters, search and what may be
done with it (`RecordType`), with the cells its list shows.

The record types are declared with these (record_types.parties, record_types.transfers); the pages
(register/records/) and the API (register/api/) both read the declarations.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from flask import request, url_for
from markupsafe import Markup
from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute

from ..forms import RecordForm
from ..models import Lifecycle


@dataclass
class Filter:
    """A list filter: a query-string parameter with choices and how it narrows the query."""

    name: str
    label: str
    choices: Callable[[], list[tuple[str, str]]]
    apply: Callable[[Select, str], Select]


@dataclass
class Column:
    """A list column: its heading, how a row shows it, and the expression it sorts by."""

    label: str
    cell: Callable[[Any], Any]
    sort: Optional[Any] = None
    key: str = ""
    # The page the cell links to, as a path under the app's root (RecordPages.path): a list shows
    # hundreds of links, so they are built from strings, not with url_for.
    href: Optional[Callable[[Any], str]] = None


@dataclass
class RecordType:
    """One record type, declared once: everything the pages and the API need to know about it."""

    name: str  # URL segment and endpoint prefix, e.g. "third_parties"
    title: str  # plural heading, e.g. "Third parties"
    singular: str
    model: type
    form: type[RecordForm]
    # The form's fields in groups: [(legend, [field names])].
    fieldsets: list[tuple[str, list[str]]]
    columns: list[Column]
    search: list[InstrumentedAttribute]
    filters: list[Filter] = field(default_factory=list)
    base_query: Callable[[], Select] | None = None
    # Joins that searching, or sorting by one of `join_sorts`, needs (the plain list does without).
    joins: Callable[[Select], Select] | None = None
    join_sorts: frozenset[str] = frozenset()
    list_options: list = field(default_factory=list)
    default_sort: str = ""
    view_template: str = "records/view.html"
    form_template: str = "records/form.html"
    # Form data -> service values, and record -> form data (defaults: same field names).
    to_values: Callable[[RecordForm], dict] | None = None
    to_form: Callable[[Any], dict] | None = None
    prepare_form: Callable[[RecordForm, Any], None] | None = None
    view_context: Callable[[Any], dict] | None = None
    # Extra values a new record gets from the page (e.g. a party's kind through its model).
    create_model: Callable[[RecordForm], type] | None = None
    can_retire: bool = True
    # Whether the form offers "Preview coverage" (the change checked and assessed, then not saved).
    can_preview: bool = False
    # For long lists: the page's rows as plain tuples for these ids, instead of ORM objects.
    fetch_rows: Callable[[list[int]], dict[int, Any]] | None = None
    # The form fields showing a value the services write under another name (merge.plan decides for
    # each form field as one): {service field: (form fields)}; default, the field of the same name.
    merge_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.prefix = f"/{self.name.replace('_', '-')}"

    def query(self) -> Select:
        return self.base_query() if self.base_query else select(self.model)

    def path(self, record_id: int) -> str:
        """The record's page under the app's root (what Column.href returns)."""
        return f"{self.prefix}/{record_id}"

    def view_url(self, record_id: int) -> str:
        """The record's page, without a url_for per row (lists show hundreds of links)."""
        return f"{request.script_root}{self.prefix}/{record_id}"

    def endpoint(self, action: str) -> str:
        return f"records.{self.name}_{action}"

    def url(self, action: str, **kwargs: Any) -> str:
        return url_for(self.endpoint(action), **kwargs)


def html_text(value: Any) -> str:
    """A value as the template shows it ({{ value }}: markupsafe's escaping, HTML kept as it is), as a
    plain string. Lists build hundreds of cells: one Markup object per piece costs more than the escaping."""
    if type(value) is not str:
        if type(value) is int:
            return str(value)
        if hasattr(value, "__html__"):
            return value.__html__()
        value = str(value)
    # markupsafe's own replacements, in its order (a test compares the two).
    return value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("'", "&#39;").replace('"', "&#34;")


def link(text: Any, href: str) -> Markup:
    # Hot path of every list (hundreds of cells): plain escaping, not Markup.format.
    return Markup(f'<a href="{html_text(href)}">{html_text(text)}</a>')


def badge(value: Any, css: str = "") -> Markup:
    label = getattr(value, "label", value)
    css = css or getattr(value, "value", str(value))
    return Markup(f'<span class="badge badge-{html_text(css)}">{html_text(label)}</span>')


# The status filter's value for records not retired (proposed or active): what the home page counts.
LIVE = "live"


def status_filter(model: type) -> Filter:
    """Filter a list by lifecycle status, or to the live records (not retired)."""
    return Filter("status", "Status", lambda: [(LIVE, "Live (proposed or active)")] + [(s.value, s.label) for s in Lifecycle],
                  lambda query, value: query.where(model.status != Lifecycle.RETIRED) if value == LIVE
                  else query.where(model.status == Lifecycle(value)))

"""The OpenAPI 3 document of /api/v1, generated from the resources it describes (so it cannot drift).

The API package serves it (/api/v1/openapi.json, /api/v1/docs); this module only builds it.
"""

from functools import cache
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, String, Text

from ..record_types.parties import every_country
from ..services import spec_for
from . import resources

ERROR = {"$ref": "#/components/schemas/Error"}
COUNTRY = {"type": "string", "pattern": "^[A-Z]{2}$",
           "description": "ISO 3166-1 alpha-2 code; UK and EL are accepted and stored as GB and GR"}
ISO_DATE = {"type": "string", "format": "date"}
# A place: a country, or a region (register/regions.py) in the same field.
PLACE = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 -]{1,31}$",
         "description": "A country's ISO 3166-1 alpha-2 code (UK and EL are accepted and stored as GB and GR), or a "
                        "region's code: WORLD (worldwide; 'Worldwide' and 'Global' are taken as WORLD), EEA, EU, or "
                        "a region of the register's own (GET /api/v1/regions). A route to a region is assessed as "
                        "its worst country under each regime; its assessment names the deciding country."}
MEMBERS = {"type": "string", "description": "The region's countries: ISO 3166-1 alpha-2 codes separated by commas "
                                            "(stored sorted, e.g. \"AU,IN,JP\")"}

COLLECTION_SCHEMAS: dict[str, dict] = {
    "locations": {"type": "array", "description": "Countries or regions where the engaged party stores or accesses the data",
                  "items": {"type": "object", "additionalProperties": False, "required": ["country_code"],
                            "properties": {"country_code": PLACE,
                                           "activity": {"type": "string", "enum": ["storage", "access", "storage_and_access"]}}}},
    "signatories": {"type": "array", "items": {"type": "object", "additionalProperties": False, "required": ["party_id", "side"],
                                               "properties": {"party_id": {"type": "integer", "minimum": 1},
                                                              "side": {"type": "string", "enum": ["exporter", "importer"]}}}},
    "memberships": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                               "required": ["group_entity_id", "bound_from"],
                                               "properties": {"group_entity_id": {"type": "integer", "minimum": 1},
                                                              "bound_from": ISO_DATE,
                                                              "bound_to": {**ISO_DATE, "nullable": True}}}},
    "instrument_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}},
}


def column_schema(column: Any) -> dict:
    """The JSON schema of one column, as the API reads and writes it."""
    column_type = column.type
    enum_class = getattr(column_type, "enum_class", None)
    if enum_class is not None:
        schema: dict = {"type": "string", "enum": [member.value for member in enum_class]}
    elif isinstance(column_type, Boolean):
        schema = {"type": "boolean"}
    elif isinstance(column_type, Date):
        schema = dict(ISO_DATE)
    elif isinstance(column_type, DateTime) or getattr(column_type, "impl", None) is DateTime or \
            isinstance(getattr(column_type, "impl", None), DateTime):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(column_type, Integer):
        schema = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    elif isinstance(column_type, (String, Text)):
        schema = {"type": "string"}
        if getattr(column_type, "length", None):
            schema["maxLength"] = column_type.length
        if column.key == "destination_country":
            schema.update(pattern=PLACE["pattern"], description=PLACE["description"])
        elif column.key == "country_code":
            schema["pattern"] = "^[A-Z]{2}$"
            schema["description"] = COUNTRY["description"]
        elif column.key == "country_codes":
            schema["description"] = MEMBERS["description"]
    else:
        schema = {}
    if column.nullable and not isinstance(column_type, Boolean):
        schema["nullable"] = True
    return schema


def input_schema(resource: resources.Resource, for_create: bool) -> dict:
    spec = spec_for(resource.model)
    columns = spec.columns
    properties = {name: COLLECTION_SCHEMAS[name] if name in spec.collections else column_schema(columns[name])
                  for name in resource.writable}
    for name, how in spec.derivable.items():
        if name in properties:
            properties[name] = {**properties[name], "description": how}
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    required = [name for name in spec.required if name in properties and name not in spec.derivable] if for_create else []
    if required:
        schema["required"] = required
        for name in required:
            properties[name] = {key: value for key, value in properties[name].items() if key != "nullable"}
    return schema


def output_schema(resource: resources.Resource) -> dict:
    columns = resource.model.__table__.columns
    properties = {name: column_schema(columns[name]) for name in resources.READ_ONLY}
    properties.update(input_schema(resource, for_create=False)["properties"])
    if resource.party_kind is not None:
        properties["kind"] = {"type": "string", "enum": [resource.party_kind.value]}
    if resource.name == "routes":
        properties["assessment"] = {"$ref": "#/components/schemas/Assessment"}
    if resource.name == "third-parties":
        properties["vetting"] = {"type": "object", "description": "ISO/IEC 27001 vetting on the date asked"}
        properties["chain"] = {"type": "object", "properties": {"engaged_by": {"type": "array", "items": {"type": "object"}},
                                                                "engages": {"type": "array", "items": {"type": "object"}}}}
    return {"type": "object", "properties": properties, "required": list(resources.READ_ONLY)}


def schema_name(resource: resources.Resource) -> str:
    return "".join(part.capitalize() for part in resource.name.split("-"))


def responses(*codes: int, ok: dict | None = None) -> dict:
    texts = {200: "OK", 201: "Created", 400: "Malformed request (not JSON, bad header)", 401: "No or bad token",
             403: "The role may not do this", 404: "No such record", 409: "Changed meanwhile: nothing written",
             422: "Refused input, with field errors: nothing written",
             429: "Too many requests from this token (or address): wait the seconds in Retry-After"}
    found = {}
    for code in (*codes, 429):  # every operation counts against the API's rate limit
        if code in (200, 201):
            found[str(code)] = {"description": texts[code], "content": {"application/json": {"schema": ok}}}
        else:
            found[str(code)] = {"description": texts[code], "content": {"application/json": {"schema": ERROR}}}
    return found


def with_description(found: dict, code: int, description: str) -> dict:
    found[str(code)] = {**found[str(code)], "description": description}
    return found


def filter_parameters(resource: resources.Resource) -> list[dict]:
    parameters = [
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10_000}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
        {"name": "q", "in": "query", "description": "Name contains", "schema": {"type": "string", "maxLength": 200}},
        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": sorted(
            column.key for column in resource.pages.columns if column.sort is not None)}},
        {"name": "dir", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
    ]
    for list_filter in resource.pages.filters:
        if list_filter.name == "country":
            schema = {"type": "string", "enum": [code for code, _name in every_country()]}
        else:
            schema = {"type": "string", "enum": [value for value, _label in list_filter.choices()]}
        parameters.append({"name": list_filter.name, "in": "query", "description": list_filter.label, "schema": schema})
    if resource.extras is not None:
        parameters.append(ON_PARAMETER)
    return parameters


ON_PARAMETER = {"name": "on", "in": "query", "description": "Assess on this date (default today)", "schema": ISO_DATE}
ID_PARAMETER = {"name": "record_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
IF_MATCH = {"name": "If-Match", "in": "header", "description": "The ETag (version) the change is based on; or send \"version\"",
            "schema": {"type": "string", "pattern": '^(W/)?"?[0-9]+"?$'}}
PATCH_CONFLICT = ("A field sent was changed since the If-Match version to another value: nothing written; `fields` names each "
                  "with its value now (a change to other fields meanwhile is no conflict: the fields sent are applied on the "
                  "current version)")


@cache
def document() -> dict:
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["status", "title", "detail", "fields"],
            "properties": {"status": {"type": "integer"}, "title": {"type": "string"}, "detail": {"type": "string"},
                           "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}}}},
        "Meta": {"type": "object", "required": ["page", "per_page", "total", "total_is_capped", "has_next"],
                 "properties": {"page": {"type": "integer"}, "per_page": {"type": "integer"},
                                "total": {"type": "integer", "description": "Counted at most 1,000 rows past the page"},
                                "total_is_capped": {"type": "boolean"}, "has_next": {"type": "boolean"}}},
        "Assessment": {"type": "object", "description": "The route's verdict per regime (register/rules/)",
                       "required": ["on", "status", "regimes"],
                       "properties": {"on": ISO_DATE, "status": {"type": "string", "enum": ["out_of_scope", "covered", "attention", "gap"]},
                                      "breaks_notice_promise": {"type": "boolean"},
                                      "regimes": {"type": "array", "items": {"type": "object", "properties": {
                                          "regime": {"type": "string"}, "mechanism": {"type": "string"}, "status": {"type": "string"},
                                          "legal_reference": {"type": "string"}, "reasons": {"type": "array"},
                                          "tia": {"type": "object"}, "review_notes": {"type": "array"}}}},
                                      "reasons": {"type": "array"}}},
        "Derived": {"type": "object", "description": "The values the register filled in because the request left them "
                                                     "out (each with its reason); an explicit false or null is kept",
                    "additionalProperties": {"type": "object", "required": ["value", "reason"],
                                             "properties": {"value": {}, "reason": {"type": "string"}}}},
        "Retire": {"type": "object", "additionalProperties": False,
                   "properties": {"ends_on": {**ISO_DATE, "nullable": True}, "version": {"type": "integer"}}},
    }
    for resource in resources.RESOURCES:
        name = schema_name(resource)
        schemas[name] = output_schema(resource)
        schemas[f"{name}Create"] = input_schema(resource, for_create=True)
        update = input_schema(resource, for_create=False)
        update["properties"] = {**update["properties"], "version": {"type": "integer", "description": "Or send If-Match"}}
        schemas[f"{name}Update"] = update
        one = {"type": "object", "required": ["data"], "properties": {"data": {"$ref": f"#/components/schemas/{name}"}}}
        written = {"type": "object", "required": ["data", "derived"], "properties": {
            "data": {"$ref": f"#/components/schemas/{name}"}, "derived": {"$ref": "#/components/schemas/Derived"}}}
        many = {"type": "object", "required": ["data", "meta"], "properties": {
            "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}, "meta": {"$ref": "#/components/schemas/Meta"}}}
        base = f"/api/v1/{resource.name}"
        tag = [resource.name]
        paths[base] = {
            "get": {"tags": tag, "summary": f"List {resource.name.replace('-', ' ')}", "operationId": f"list_{name}",
                    "parameters": filter_parameters(resource), "responses": responses(200, 401, 422, ok=many)},
            "post": {"tags": tag, "summary": f"Create a {resource.singular}", "operationId": f"create_{name}",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}Create"}}}},
                     "responses": responses(201, 400, 401, 403, 422, ok=written)},
        }
        item = {
            "get": {"tags": tag, "summary": f"Get a {resource.singular}", "operationId": f"get_{name}",
                    "parameters": [ID_PARAMETER] + ([ON_PARAMETER] if resource.extras else []),
                    "responses": responses(200, 401, 404, 422, ok=one)},
            "patch": {"tags": tag, "summary": f"Change a {resource.singular} (only the fields sent)", "operationId": f"update_{name}",
                      "parameters": [ID_PARAMETER, IF_MATCH],
                      "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}Update"}}}},
                      "responses": with_description(responses(200, 400, 401, 403, 404, 409, 422, ok=written), 409, PATCH_CONFLICT)},
        }
        paths[f"{base}/{{record_id}}"] = item
        if resource.can_retire:
            paths[f"{base}/{{record_id}}/retire"] = {"post": {
                "tags": tag, "summary": f"Retire a {resource.singular} (it stays, with an end date)", "operationId": f"retire_{name}",
                "parameters": [ID_PARAMETER, IF_MATCH],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Retire"}}}},
                "responses": responses(200, 400, 401, 403, 404, 409, 422, ok=one)}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Cross-border transfer and sub-processor register API", "version": "1.0.0",
                 "description": "Every register record, read and written through the same audited rules as the pages. "
                                "Writes need the editor or admin role. A change (PATCH) sends only the fields it changes; based on an "
                                "older version, it still applies unless a field it sends was changed meanwhile (409, the fields "
                                "named); retiring on an older version gets 409."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": "flask --app app create-token EMAIL, or Account > API tokens"}},
                       "schemas": schemas},
        "paths": paths,
    }

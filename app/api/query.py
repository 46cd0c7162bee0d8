"""A route's query string read by one pydantic model, for the hot routes.

FastAPI reads each declared query parameter on its own, looking at its annotation again on every
request: /search's eight cost 0.07 ms a request (0.23 against 0.16 ms for a route that reads the same
eight as one model; measured in process on a Zen 3). `read_query(Model, request)` validates the
query string in one call and answers a bad value as FastAPI does (422 through the app's validation
handler, the same message); `query_parameters(Model)` documents the fields as the route's OpenAPI
parameters, as FastAPI would have.
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def read_query(model: type[M], request: Request) -> M:
    """The request's query string as `model` (the last value of a repeated name); a bad value is
    answered as FastAPI answers it (RequestValidationError: 422, the same message)."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as err:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in err.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def query_parameters(model: type[BaseModel]) -> list[dict]:
    """OpenAPI parameter objects of the model's fields, in order (for a route's `openapi_extra`)."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    params = []
    for name, field in schema["properties"].items():
        param = {"in": "query", "name": name, "required": name in required, "schema": field}
        if "description" in field:
            param["description"] = field["description"]
        params.append(param)
    return params

"""Validates the OpenAPI document read from standard input as OpenAPI 3.1
(openapi-spec-validator: the 3.1 meta-schema, every $ref resolving, path
parameters declared, operation ids unique, ...). Prints every error and
exits 1 if there is one; used by tests/api/openapi.rs."""

import json
import sys

from jsonschema_path import SchemaPath
from openapi_spec_validator import OpenAPIV31SpecValidator


def main() -> int:
    spec = json.load(sys.stdin)
    version = str(spec.get("openapi", ""))
    if not version.startswith("3.1."):
        print(f"not an OpenAPI 3.1 document: openapi = {version!r}")
        return 1
    errors = list(OpenAPIV31SpecValidator(SchemaPath.from_dict(spec)).iter_errors())
    for error in errors:
        print(f"- {error}")
    if errors:
        print(f"{len(errors)} error(s)")
        return 1
    print(f"valid OpenAPI {version} document with {len(spec.get('paths', {}))} paths")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The event contract: topic names and event types agree, and the published AsyncAPI
documents are current."""

import json
from pathlib import Path

from billing_cli.services import SERVICES, load
from shared.events import topics
from shared.events.asyncapi import document

REPO = Path(__file__).resolve().parents[2]


def test_every_topic_carries_the_version_of_its_event_type() -> None:
    for spec in topics.ALL:
        topic_version = spec.name.rsplit(".", 1)[1]
        for event in spec.events:
            assert event.EVENT_TYPE.endswith(f".{topic_version}"), spec.name


def test_committed_asyncapi_documents_are_current() -> None:
    for name in SERVICES:
        spec = load(name).SPEC
        committed = (REPO / "docs" / "asyncapi" / f"{name}.yaml").read_text()
        assert committed == document(name, group=name, produces=spec.produces, consumes=spec.consumes), (
            f"docs/asyncapi/{name}.yaml is stale: run `uv run billing asyncapi`"
        )


def test_committed_openapi_documents_are_current_and_declare_the_bearer_scheme() -> None:
    from billing_cli.main import openapi_documents

    for name, text in openapi_documents().items():
        assert (REPO / "docs" / "openapi" / f"{name}.json").read_text() == text, (
            f"docs/openapi/{name}.json is stale: run `uv run billing openapi`"
        )
        document = json.loads(text)
        assert "HTTPBearer" in document["components"]["securitySchemes"], name
        writes = [op for path in document["paths"].values() for method, op in path.items() if method != "get"]
        assert writes and all("403" in op["responses"] for op in writes), name


def test_customers_contract_names_its_payloads() -> None:
    text = (REPO / "docs" / "asyncapi" / "customers.yaml").read_text()
    assert "CustomerUpserted" in text
    assert "BillingProfileChanged" in text
    assert "crm.customer-upserts.v1.dlq" in text


def test_every_topic_lists_each_of_its_event_types_in_the_asyncapi_documents() -> None:
    for name in SERVICES:
        spec = load(name).SPEC
        text = document(name, group=name, produces=spec.produces, consumes=spec.consumes)
        for topic in [*spec.produces, *spec.consumes]:
            for event in topic.events:
                assert event.EVENT_TYPE in text, (name, topic.name, event.EVENT_TYPE)
                assert event.__name__ in text, (name, topic.name, event.__name__)

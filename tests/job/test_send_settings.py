"""SendSettings (the typed settings of a send), the run's steps without an ImportJob, and the
confirmation before anything is sent."""

from __future__ import annotations

import dataclasses
import io
import json
import sys

import pytest
from runhelpers import results_by_row, write_rows

import importer
from importer import SendSettings
from importer.check.mapping import Mapping
from importer.errors import ConfigurationError
from importer.job.run import Cancelled, ImportPlan, plan_job, send_job
from importer.job.validate import prepare
from importer.report.outputs import OutputNames


def test_plan_takes_typed_settings_and_keywords_alike(tmp_path, sb):
    source = write_rows(tmp_path / "rows.csv", 5)
    typed = importer.open_import(source, out_dir=tmp_path / "typed")
    settings = SendSettings(api_url=sb.base_url, api_key=sb.api_key, concurrency=2, dry_run=True)
    by_type = typed.plan(settings)
    by_keyword = importer.open_import(source, out_dir=tmp_path / "kw").plan(
        api_url=sb.base_url, api_key=sb.api_key, concurrency=2, dry_run=True
    )
    assert (by_type.valid_rows, by_type.rows_to_send) == (5, 5)
    assert (by_keyword.valid_rows, by_keyword.rows_to_send) == (5, 5)
    assert by_type.api_url == by_keyword.api_url == sb.base_url
    changed = typed.plan(settings, concurrency=3)  # keywords change the typed settings' fields
    assert changed.valid_rows == 5
    assert typed._planned.settings.concurrency == 3
    assert settings.concurrency == 2  # the caller's settings are never changed


def test_an_unknown_setting_is_a_type_error(tmp_path, sb):
    job = importer.open_import(write_rows(tmp_path / "rows.csv", 2))
    with pytest.raises(TypeError, match="concurency"):
        job.plan(api_url=sb.base_url, api_key=sb.api_key, concurency=4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"api_key": ""}, "no API key"),
        ({"api_url": "http://example.com"}, "refusing to send the API key over plain http"),
        ({"concurrency": 0}, "--concurrency, --rate and --timeout must be positive"),
        ({"timeout": 0.0}, "--concurrency, --rate and --timeout must be positive"),
    ],
)
def test_unusable_settings_stop_before_the_file_is_read(change, message):
    settings = SendSettings(api_url="https://keen.example/", api_key="k")
    with pytest.raises(ConfigurationError, match=message):
        dataclasses.replace(settings, **change).checked()


def test_checked_settings_complete_a_bare_host_and_keep_the_key_out_of_repr():
    checked = SendSettings(api_url="https://keen.example/", api_key="SECRET-KEY").checked()
    assert checked.api_url == "https://keen.example/functions/v1/keen-api"
    assert checked.network is not None
    assert "SECRET-KEY" not in repr(checked)
    assert checked.ledger_target == checked.api_url
    assert dataclasses.replace(checked, target="acme").ledger_target == "acme"


def test_the_mapping_gives_the_proxy_and_ca_bundle_only_when_none_is_given():
    mapping = Mapping(proxy="http://proxy.corp:8080", ca_bundle="corp.pem")
    plain = SendSettings(api_url="https://keen.example/", api_key="k")
    taken = plain.with_mapping(mapping)
    assert (taken.proxy, taken.ca_bundle) == ("http://proxy.corp:8080", "corp.pem")
    assert taken.proxy_source == "the mapping file's proxy option"
    own = dataclasses.replace(plain, proxy="none", ca_bundle="mine.pem").with_mapping(mapping)
    assert (own.proxy, own.ca_bundle, own.proxy_source) == ("none", "mine.pem", "--proxy")
    assert plain.with_mapping(None) is plain


def test_the_run_steps_need_no_job(tmp_path, sb):
    """plan_job and send_job take the prepared file, the output names and typed settings."""
    source = write_rows(tmp_path / "rows.csv", 4)
    prepared = prepare(source, Mapping())
    names = OutputNames.beside(source, "csv", tmp_path / "out")
    settings = SendSettings(api_url=sb.base_url, api_key=sb.api_key).checked()
    planned = plan_job(prepared, settings, names)
    assert (planned.plan.valid_rows, sb.stats()["create_calls"]) == (4, 0)
    report = send_job(planned, names, writes_results=True, audit={"answers": []})
    assert (report.exit_code, len(sb.purchases())) == (0, 4)
    assert [r["status"] for r in results_by_row(names.results).values()] == ["created"] * 4
    manifest = json.loads(names.manifest.read_text(encoding="utf-8"))
    assert (manifest["command"], manifest["answers"]) == ("run", [])
    assert manifest["requests"] == report.requests  # the creates and the preflight's look-ups
    assert sb.stats()["create_calls"] == 4
    assert sb.api_key not in names.manifest.read_text(encoding="utf-8")


class _Terminal(io.StringIO):
    """A console's stdin: a person types ``answer``."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "code", "created"), [("n\n", 1, 0), ("yes\n", 0, 3)])
def test_the_confirmation_prompt_sends_only_on_yes(
    tmp_path, sb, run_cli, monkeypatch, answer, code, created
):
    monkeypatch.setattr(ImportPlan, "to_this_machine", property(lambda plan: False))
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    got, err = run_cli(write_rows(tmp_path / "rows.csv", 3), "--api-url", sb.base_url)
    assert "About to import 3 purchases from rows.csv" in err
    assert ("cancelled: nothing was sent" in err) is (created == 0)
    assert (got, sb.stats()["create_calls"]) == (code, created)


def test_run_import_sends_nothing_when_confirm_says_no(tmp_path, sb):
    seen = []
    with pytest.raises(Cancelled, match="^cancelled: nothing was sent$") as stopped:
        importer.run_import(
            write_rows(tmp_path / "rows.csv", 4),
            api_url=sb.base_url,
            api_key=sb.api_key,
            confirm=lambda plan: seen.append(plan.rows_to_send) and False,
        )
    assert (stopped.value.exit_code, seen, sb.stats()["create_calls"]) == (1, [4], 0)

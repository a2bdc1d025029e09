"""Every kind of policy mistake is reported with the file, the line and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.policy import PolicyError, PolicyInvalid, load_policy

BASE = textwrap.dedent(
    """\
    name: Testco
    contacts:
      oncall: {usergroup: S0ONCALL}
      lead: {user: U0LEAD}
    severities:
      - name: SEV1
        aliases: [P1, critical]
        label: Critical
        impact: Complete outage
        update_every: 15m
        invite: [oncall]
      - name: SEV2
        label: Major
        impact: Degraded
        update_every: 30m
    roles: [commander, tech_lead]
    templates:
      announcement: |
        {severity} {title}
        Commander: {commander}
        Tech lead: {role_tech_lead}
    escalation:
      levels:
        - name: Lead
          targets: [lead]
          when:
            at_declare: [SEV1]
            unresolved_after: {SEV2: 1h}
    permissions:
      resolve: [commander, role:tech_lead]
    """
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def errors(tmp_path: Path, text: str) -> list[PolicyError]:
    path = write(tmp_path, text)
    with pytest.raises(PolicyInvalid) as info:
        load_policy(path)
    assert all(e.file == str(path) for e in info.value.errors)
    return info.value.errors


def only_error(tmp_path: Path, text: str) -> PolicyError:
    found = errors(tmp_path, text)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def replace(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_base_policy_is_valid(tmp_path: Path) -> None:
    assert load_policy(write(tmp_path, BASE)).policy.name == "Testco"


def test_mistyped_key_names_it_and_suggests_the_real_one(tmp_path: Path) -> None:
    text = replace("    update_every: 30m", "    udpate_every: 30m")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "udpate_every")
    assert err.field == "severities[1].udpate_every"
    assert 'unknown key "udpate_every"; did you mean "update_every"?' in err.message
    assert str(err) == (
        f"{tmp_path / 'policy.yaml'}:{err.line}: severities[1].udpate_every: "
        'unknown key "udpate_every"; did you mean "update_every"?'
    )


def test_unknown_key_without_a_close_match_lists_the_keys(tmp_path: Path) -> None:
    text = BASE + "colour: red\n"
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "colour"), "colour")
    assert "expected one of: name, timezone" in err.message


def test_bad_duration(tmp_path: Path) -> None:
    text = replace("update_every: 30m", 'update_every: "15 minutes"')
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "15 minutes")
    assert err.field == "severities[1].update_every"
    assert str(err).endswith(
        'severities[1].update_every: "15 minutes" is not a duration; write 30s, 15m, 2h or 1d'
        " (or combined, like 1h30m), or null for none"
    )


def test_bad_duration_in_a_mapping_of_severities(tmp_path: Path) -> None:
    text = replace("unresolved_after: {SEV2: 1h}", "unresolved_after: {SEV2: 1 hour}")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "1 hour")
    assert err.field == "escalation.levels[0].when.unresolved_after.SEV2"
    assert '"1 hour" is not a duration' in err.message


def test_escalation_condition_naming_an_unknown_severity(tmp_path: Path) -> None:
    text = replace("at_declare: [SEV1]", "at_declare:\n            - SEV1\n            - SEV9")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "- SEV9")
    assert err.field == "escalation.levels[0].when.at_declare[1]"
    assert 'unknown severity "SEV9"' in err.message


def test_unresolved_after_naming_an_unknown_severity(tmp_path: Path) -> None:
    text = replace("unresolved_after: {SEV2: 1h}", "unresolved_after:\n            SEV3: 1h")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "SEV3: 1h")
    assert err.field == "escalation.levels[0].when.unresolved_after.SEV3"
    assert 'unknown severity "SEV3"; did you mean' in err.message


def test_duplicate_yaml_key_points_at_the_second_one(tmp_path: Path) -> None:
    text = replace("    label: Major\n", "    label: Major\n    label: Minor\n")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "label: Minor")
    assert err.field == "severities[1].label"
    assert f'duplicate key "label" (first defined on line {line_of(text, "Major")})' in err.message


def test_unknown_placeholder_points_at_its_line_in_the_template(tmp_path: Path) -> None:
    text = replace("Commander: {commander}", "Commander: {comander}")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "{comander}")
    assert err.field == "templates.announcement"
    assert "unknown placeholder {comander}; did you mean {commander}?" in err.message


def test_unknown_placeholder_in_a_quoted_template(tmp_path: Path) -> None:
    text = replace("escalation:\n", '  nag: "{commander}: update {incident}"\nescalation:\n')
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "{incident}")
    assert err.field == "templates.nag"
    assert "unknown placeholder {incident}; did you mean" not in err.message
    assert "unknown placeholder {incident}; use one of {company}, {title}" in err.message


@pytest.mark.parametrize("field", ["{title.__class__}", "{title[0]}", "{title!r}", "{title:>40}"])
def test_attribute_access_indexing_and_format_specs_are_rejected(
    tmp_path: Path, field: str
) -> None:
    text = replace("{severity} {title}", "{severity} " + field)
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, field)
    assert err.field == "templates.announcement"
    assert f"{field} is not a placeholder" in err.message


def test_unknown_contact_reference(tmp_path: Path) -> None:
    text = replace("targets: [lead]", "targets: [lead, cto]")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "targets: [lead, cto]")
    assert err.field == "escalation.levels[0].targets[1]"
    assert 'unknown contact "cto"; contacts are: oncall, lead' in err.message


def test_unknown_contact_in_invite_suggests_the_close_one(tmp_path: Path) -> None:
    text = replace("invite: [oncall]", "invite: [on-call]")
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "on-call"), "severities[0].invite[0]")
    assert 'unknown contact "on-call"; did you mean "oncall"?' in err.message


def test_a_channel_cannot_be_invited(tmp_path: Path) -> None:
    text = replace("  lead: {user: U0LEAD}", '  lead: {user: U0LEAD}\n  room: {channel: "#room"}')
    text = replace("invite: [oncall]", "invite: [oncall, room]", text)
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (
        line_of(text, "invite: [oncall, room]"),
        "severities[0].invite[1]",
    )
    assert 'contact "room" is a channel, which cannot be invited' in err.message


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = replace("    label: Critical", "    label: Critical\n   impact: [oops")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "impact: [oops")
    assert err.message.startswith("YAML syntax error:")
    assert str(err).startswith(f"{tmp_path / 'policy.yaml'}:{err.line}: YAML syntax error")


def test_tabs_are_a_syntax_error_on_their_line(tmp_path: Path) -> None:
    text = replace("  lead: {user: U0LEAD}", "\tlead: {user: U0LEAD}")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "\tlead")
    assert "YAML syntax error" in err.message
    assert err.message.endswith("(indent with spaces, not tabs)")


def test_missing_required_field_points_at_the_parent(tmp_path: Path) -> None:
    text = replace("    impact: Degraded\n", "")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "- name: SEV2")
    assert err.field == "severities[1].impact"
    assert err.message == "required, but missing"


def test_missing_top_level_section(tmp_path: Path) -> None:
    start = BASE.index("templates:")
    end = BASE.index("escalation:")
    text = BASE[:start] + BASE[end:]
    err = only_error(tmp_path, text)
    assert (err.line, err.field, err.message) == (1, "templates", "required, but missing")


def test_a_mistyped_key_does_not_also_report_the_missing_one(tmp_path: Path) -> None:
    text = replace("    impact: Degraded", "    impcat: Degraded")
    err = only_error(tmp_path, text)
    assert err.field == "severities[1].impcat"
    assert 'did you mean "impact"?' in err.message


def test_every_error_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    text = replace("update_every: 15m", "update_every: 15")
    text = replace(
        "  oncall: {usergroup: S0ONCALL}", "  oncall: {usergroup: S0ONCALL, phone: 1}", text
    )
    text = replace("    label: Major\n", "    label: Major\n    lable: Major\n", text)
    found = errors(tmp_path, text)
    assert [(e.line, e.field) for e in found] == [
        (line_of(text, "phone"), "contacts.oncall.phone"),
        (line_of(text, "update_every: 15"), "severities[0].update_every"),
        (line_of(text, "lable"), "severities[1].lable"),
    ]
    message = str(PolicyInvalid(found))
    assert message.count("\n") == 2
    assert "15 is not a duration" in message


def test_duplicate_severity_alias_ignoring_case_and_dashes(tmp_path: Path) -> None:
    text = replace("    label: Major", "    aliases: [sev-1]\n    label: Major")
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "sev-1"), "severities[1].aliases[0]")
    assert '"sev-1" is already a name or alias of SEV1' in err.message


def test_statuses_without_the_initial_one(tmp_path: Path) -> None:
    text = BASE + "statuses:\n  values: [open, fixing, closed]\n  final: closed\n"
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "statuses:"), "statuses.initial")
    assert 'initial status "investigating" is not in values (open, fixing, closed)' in err.message


def test_final_status_not_listed(tmp_path: Path) -> None:
    text = BASE + "statuses:\n  values: [investigating, fixed]\n  final: done\n"
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "final: done"), "statuses.final")


def test_role_referenced_but_not_declared(tmp_path: Path) -> None:
    text = replace("role:tech_lead]", "role:tech_lead, role:scribe]")
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "role:scribe"), "permissions.resolve[2]")
    assert 'role "scribe" is not declared' in err.message


def test_role_placeholder_for_an_undeclared_role(tmp_path: Path) -> None:
    text = replace("roles: [commander, tech_lead]", "roles: [commander]")
    text = replace("role:tech_lead]", "commander]", text)
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "{role_tech_lead}"), "templates.announcement")
    assert 'names role "tech_lead", which is not declared' in err.message


def test_contact_needs_exactly_one_slack_id(tmp_path: Path) -> None:
    text = replace("  lead: {user: U0LEAD}", '  lead: {user: U0LEAD, channel: "#lead"}')
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "lead: {"), "contacts.lead")
    assert "exactly one of user, usergroup or channel" in err.message


def test_contact_written_as_a_handle_is_rejected(tmp_path: Path) -> None:
    text = replace("{user: U0LEAD}", '{user: "@lead"}')
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "@lead"), "contacts.lead.user")
    assert "not a Slack member ID" in err.message


def test_unknown_time_zone(tmp_path: Path) -> None:
    text = replace("name: Testco", "name: Testco\ntimezone: Europe/Pariss")
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (2, "timezone")


def test_python_tags_are_refused_not_constructed(tmp_path: Path) -> None:
    text = replace("name: Testco", "name: !!python/object/apply:os.system [echo hi]")
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (1, "name")
    assert "unsupported YAML tag" in err.message


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    text = replace("invite: [oncall]", "invite: oncall")
    err = only_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "invite: oncall"), "severities[0].invite")
    assert err.message == 'expected a list, got "oncall"'


def test_unquoted_template_starting_with_a_brace(tmp_path: Path) -> None:
    text = replace("templates:\n", "templates:\n  nag: {commander} update please\n")
    err = only_error(tmp_path, text)
    assert err.line == line_of(text, "nag:")
    assert 'a value that starts with "{" must be quoted' in err.message


def test_empty_file(tmp_path: Path) -> None:
    err = only_error(tmp_path, "# nothing here\n")
    assert "empty" in err.message


def test_unreadable_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_policy(tmp_path / "missing.yaml")


def test_a_monitoring_period_needs_a_monitoring_status(tmp_path: Path) -> None:
    text = replace("    update_every: 30m", "    update_every: 30m\n    monitor_for: 30m")
    text += "statuses:\n  values: [investigating, fixed, resolved]\n"
    err = only_error(tmp_path, text)
    assert err.field == "severities[1].monitor_for"
    assert err.line == line_of(text, "monitor_for")
    assert 'the status "monitoring", which statuses.values lacks' in err.message
    # With the status, the same period is fine.
    assert load_policy(
        write(
            tmp_path,
            replace("    update_every: 30m", "    update_every: 30m\n    monitor_for: 30m"),
        )
    )

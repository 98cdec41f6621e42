"""validate_notify_url / describe_notify_url: syntax only, nothing is sent anywhere."""

from __future__ import annotations

import pytest

from notifications.channels import ChannelError, describe_notify_url, validate_notify_url

SLACK_TOKEN = "TIiajkdnlazkcOXrIdevi7FQ"
DISCORD_TOKEN = "JHMHI8qBe7bk2ZwO5U711o3dV_js"

VALID = [
    "json://127.0.0.1:8080/hook",
    "jsons://hooks.zorg.example/zorgtafel",
    "form://127.0.0.1:8080/form",
    "forms://hooks.zorg.example/form",
    "ntfy://127.0.0.1:8080/zt-topic",
    "ntfys://ntfy.zorg.example/zt-topic",
    "ntfy://zt-cloud-topic",  # ntfy.sh; apprise makes it ntfys://
    f"slack://T1JJ3T3L2/A1BRTD4JD/{SLACK_TOKEN}/#zorgtafel",
    "workflow://prod-12.westeurope.logic.azure.com:443/abc123def/sigToken123",  # Teams
    f"discord://4174216298/{DISCORD_TOKEN}",
    "tgram://123456789:abcdefg_hijklmnop/12315544/",
]


@pytest.mark.parametrize("url", VALID)
def test_valid_urls_are_accepted_and_normalised_idempotently(url):
    normalised = validate_notify_url(url)
    assert normalised.split("://")[0] in url.split("://")[0] + "s"  # same scheme (ntfy may gain its s)
    assert validate_notify_url(normalised) == normalised


def test_equal_configurations_compare_equal():
    assert validate_notify_url("JSON://127.0.0.1:8080/hook") == validate_notify_url(
        " json://127.0.0.1:8080/hook?method=POST&format=text "
    )
    assert validate_notify_url("ntfy://zt-cloud-topic") == validate_notify_url("ntfys://zt-cloud-topic")


def test_teams_old_connector_scheme_is_gone_from_apprise_113():
    # msteams:// was removed from apprise (caronc/apprise#1565); Teams goes through workflow://.
    with pytest.raises(ChannelError) as err:
        validate_notify_url("msteams://team/token_a/token_b/token_c")
    assert err.value.code == "unknown_scheme"
    assert "workflow://" in err.value.message_nl


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("nonsense://whatever/here", "unknown_scheme"),
        ("https://hooks.zorg.example/x", "unknown_scheme"),  # not an apprise scheme
        ("garbage", "invalid_url"),
        ("", "invalid_url"),
        ("   ", "invalid_url"),
        ("://nohost", "invalid_url"),
        ("json://", "invalid_url"),
        ("slack://onlyonetoken", "invalid_url"),
        ("mailto://user:pw@zorg.example", "not_allowed_scheme"),
        ("mailtos://user:pw@zorg.example", "not_allowed_scheme"),
        ("sendgrid://apikey:from@zorg.example/to@zorg.example", "not_allowed_scheme"),
        ("file:///tmp/notices.txt", "not_allowed_scheme"),
        ("syslog://", "not_allowed_scheme"),
        ("windows://", "not_allowed_scheme"),
        ("dbus://", "not_allowed_scheme"),
        ("kodi://tv.zorg.example", "not_allowed_scheme"),
        ("mastodons://token@mastodon.example", "not_allowed_scheme"),
        ("twitter://ck/cs/akey/asecret", "not_allowed_scheme"),
        ("apprises://relay.zorg.example/token", "not_allowed_scheme"),
        ("pushme://tokentoken", "not_allowed_scheme"),  # known to apprise, not on the allow-list
    ],
)
def test_refused_with_code(url, code):
    with pytest.raises(ChannelError) as err:
        validate_notify_url(url)
    assert err.value.code == code
    assert err.value.message_nl
    assert str(err.value) == err.value.message_nl == err.value.message


@pytest.mark.parametrize(
    "url",
    [
        "json://hooks.zorg.example/hook",
        "ntfy://ntfy.zorg.example/zt-topic",
        "jsons://hooks.zorg.example/hook?verify=no",
    ],
)
def test_plain_http_or_unverified_tls_to_another_host_is_refused_unless_allowed(url):
    with pytest.raises(ChannelError) as err:
        validate_notify_url(url)
    assert err.value.code == "insecure_transport"
    assert validate_notify_url(url, allow_insecure=True)


def test_plain_http_to_this_machine_is_fine():
    assert validate_notify_url("json://localhost:8080/hook")
    assert validate_notify_url("ntfy://127.0.0.1:8080/zt-topic")


@pytest.mark.parametrize(
    "url",
    [
        "mailto://zorg:Gehe1mWachtw00rd@zorg.example",
        "json://zorg:Gehe1mWachtw00rd@hooks.zorg.example/Gehe1mPad",
        "nonsense://Gehe1mWachtw00rd@zorg.example",
        "slack://Gehe1mWachtw00rd",
        "file:///Gehe1mWachtw00rd",
    ],
)
def test_messages_never_echo_secrets(url):
    with pytest.raises(ChannelError) as err:
        validate_notify_url(url)
    assert "Gehe1m" not in err.value.message_nl
    assert "zorg.example" not in err.value.message_nl
    assert "Gehe1m" not in describe_notify_url(url)


@pytest.mark.parametrize(
    ("url", "label", "hidden"),
    [
        ("ntfy://zt-abc123secret", "ntfy (…/zt-***)", "abc123"),
        ("ntfys://ntfy.zorg.example/zt-abc123secret", "ntfy (ntfy.zorg.example/zt-***)", "abc123"),
        (f"slack://T1JJ3T3L2/A1BRTD4JD/{SLACK_TOKEN}/#zorgtafel", "Slack (…/#zo***)", SLACK_TOKEN),
        (f"discord://4174216298/{DISCORD_TOKEN}", "Discord (…/***)", "4174216298"),
        ("form://zorg:Gehe1m@127.0.0.1:8080/webhook", "Form (127.0.0.1:8080/web***)", "Gehe1m"),
        (
            "twilio://AC1234567890abcdef1234567890abcd:tok1234567890abcdef1234567890ab@+31612345678/+31687654321",
            "Twilio (…/+31***)",
            "612345678",
        ),
    ],
)
def test_describe_masks_targets(url, label, hidden):
    described = describe_notify_url(url)
    assert described == label
    assert hidden not in described


def test_describe_never_raises():
    assert describe_notify_url("garbage") == "ongeldig kanaal"
    assert describe_notify_url("nonsense://x") == "nonsense:// (onbekend)"
    assert describe_notify_url("mailto://a:b@zorg.example") == "mailto:// (niet toegestaan)"
    assert describe_notify_url("json://") == "json:// (ongeldig)"

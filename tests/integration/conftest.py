from tests.channels.conftest import peer  # noqa: F401 - a real HTTP peer for apprise
from tests.integration.test_invitation_lifecycle import mailbox  # noqa: F401 - a real SMTP server
from tests.notifications.test_radicale import radicale  # noqa: F401 - a real CalDAV server

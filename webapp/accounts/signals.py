"""Signals other domains may listen to (they never import accounts.routes)."""

from blinker import Namespace

_signals = Namespace()

# Sent by services.redeem_invitation(invitation, user=...) INSIDE the redeeming transaction,
# after the user row is flushed and before the commit: a listener may add its own rows (e.g. the
# care circle's grant for an invited relative) and they commit, or roll back, together.
invitation_redeemed = _signals.signal("accounts.invitation-redeemed")

# Sent by services.sign_out_everywhere(user) INSIDE its transaction, after the session token
# changed and before the commit: a listener removes what keeps reaching that person's devices
# (e.g. push subscriptions), and it commits, or rolls back, with the sign-out.
signed_out_everywhere = _signals.signal("accounts.signed-out-everywhere")

# Sent by services.update_settings(user, old=..., new=...) INSIDE its transaction when the time
# zone changed: a listener moves what is kept in the person's zone (e.g. agenda reminders, so
# "08:00" stays 08:00 where the patient now lives), and it commits with the setting.
timezone_changed = _signals.signal("accounts.timezone-changed")

# Sent by services.close_space(patient) AFTER its commit: the space is closed and policy already
# refuses everyone; a listener cuts what is still live (e.g. the care circle tells the chat's
# sockets of every person who had access to leave the patient's rooms).
space_closed = _signals.signal("accounts.space-closed")

"""Signals other domains listen to. Sent only after the change is committed.

access_changed(sender, patient_id=…, grantee_id=…): a grant was revoked, narrowed or expired,
or a professional was blocked. Listeners re-check access at once (the chat pulls the
grantee's live sockets out of the patient's rooms):

    from webapp.circle.signals import access_changed

    @access_changed.connect
    def _on_access_changed(sender, patient_id, grantee_id, **extra): ...
"""

from blinker import Namespace

_signals = Namespace()

access_changed = _signals.signal("access-changed")

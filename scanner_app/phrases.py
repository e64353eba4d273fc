"""Every sentence the scanner's scripts show, in the page's language.

The app runs offline from a cached shell, so the scripts cannot ask the server for words:
the shell carries them (``phrasebook()`` as JSON in a data block). ``%(name)s`` places are
filled in by the script.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

PHRASES = {
    # signing in
    "wrong_password": _l("Wrong user name or password."),
    "not_inspector": _l("This app is for inspectors. Sign in with an inspector's account."),
    "sign_in_needs_network": _l("Signing in needs a network connection. Your scans stay on "
                                "this phone."),
    "sign_in_again": _l("Your sign-in has ended. Sign in again to send the waiting scans: "
                        "they stay on this phone until then."),
    "sign_in_failed": _l("Signing in did not work (%(reason)s). Try again."),
    "too_many_sign_ins": _l("Too many sign-in attempts. Wait %(minutes)s minutes and try "
                            "again."),
    "signed_in_as": _l("Signed in as %(name)s"),
    "sign_out_blocked": _l("Send the waiting scans before signing out."),
    # camera
    "camera_starting": _l("Starting the camera…"),
    "camera_ready": _l("Point the camera at the QR code on the label."),
    "camera_unavailable": _l("The camera is not available (%(reason)s). Enter the code by "
                             "hand below."),
    "decoder_loading": _l("Loading the code reader…"),
    "decoder_failed": _l("The code reader could not start (%(reason)s). Enter the code by "
                         "hand below."),
    "torch_on": _l("Light on"),
    "torch_off": _l("Light off"),
    "same_code": _l("Same code read again within 10 seconds: not a new scan."),
    "empty_code": _l("Type the serial number or the code printed under the QR code."),
    # position
    "position_finding": _l("Finding your position…"),
    "position_ok": _l("Position found (within %(metres)s m)."),
    "position_unavailable": _l("Position unavailable (%(reason)s). Allow location for this "
                               "site or step outside; the scan waits for a position."),
    "position_denied": _l("location is not allowed for this site"),
    "position_poor": _l("The position is poor (within %(metres)s m): near a border the "
                        "verdict may be wrong."),
    "position_no_accuracy": _l("The phone gave a position without its accuracy: near a "
                               "border the verdict may be wrong."),
    "no_position_yet": _l("No position yet: the scan cannot be checked without one. Wait a "
                          "moment, then try again."),
    # the verdict
    "checking": _l("Checking…"),
    "verdict_authentic": _l("Authentic"),
    "verdict_diverted": _l("Diverted"),
    "verdict_unknown_code": _l("Unknown code"),
    "verdict_suspected_clone": _l("Suspected clone"),
    "verdict_recalled": _l("Recalled"),
    "verdict_pending": _l("Waiting to send"),
    "verdict_refused": _l("Not checked"),
    "explain_authentic": _l("This item is authorised for sale here."),
    "explain_diverted": _l("This item was sold outside its territory."),
    "explain_unknown_code": _l("This code was never issued by the brand: the label may be "
                               "counterfeit or belong to another brand. Keep the item aside."),
    "explain_suspected_clone": _l("This code was scanned too far away too recently: the label "
                                  "may be copied."),
    "explain_recalled": _l("This item is recalled: take it off the shelf."),
    "explain_pending": _l("No network: the scan is kept on this phone and sent when the "
                          "network returns."),
    "near_border": _l("Near a border: the position is within its accuracy of the expected "
                      "territory, so this is not a violation."),
    "expected_in": _l("Expected in"),
    "found_in": _l("Found in"),
    "responsible": _l("Responsible"),
    "no_territory": _l("no known territory"),
    "nobody": _l("not known (never shipped)"),
    # answers the server refused
    "refused_malformed_code": _l("This QR code is not a product code we can check."),
    "refused_no_serial": _l("This code names a product but has no serial number."),
    "refused_not_an_item": _l("This is the code of a case or pallet: scan the item's own "
                              "code."),
    "refused_invalid_coordinates": _l("The phone's position is not valid."),
    "refused_other": _l("The server refused this scan."),
    "server_said": _l("The server said: %(message)s"),
    # evidence
    "evidence_kept": _l("Kept: it is sent with the scan."),
    "evidence_sent": _l("Note and photo sent."),
    "note_too_long": _l("The note is too long: at most 2,000 characters."),
    "photo_not_image": _l("This file is not a photo the phone can read: choose a JPEG photo."),
    "photo_too_large": _l("The photo is too large: at most 5 MB after resizing."),
    "evidence_empty": _l("Write a note or choose a photo first."),
    "evidence_refused": _l("The server refused the note or photo."),
    # clock
    "clock_off": _l("This phone's clock is %(minutes)s minutes off. Scan times are corrected "
                    "with the server's clock; set the phone's clock when you can."),
    # queue and history
    "online": _l("Online"),
    "offline": _l("Offline"),
    "waiting": _l("Waiting to send: %(count)s"),
    "all_sent": _l("Everything sent"),
    "status_pending": _l("waiting"),
    "status_sent": _l("sent"),
    "status_refused": _l("refused"),
    "no_scans": _l("No scans on this day."),
    "no_positions": _l("No positions to show on the map for this day."),
}


def phrasebook() -> dict[str, str]:
    """The phrases in this request's language."""
    return {key: str(text) for key, text in PHRASES.items()}

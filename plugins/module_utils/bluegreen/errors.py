# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one exception type of the blue/green module family."""

from __future__ import annotations


class BlueGreenError(Exception):
    """A refusal or failure of a blue/green operation.

    ``msg`` names the object and what to change; ``details`` are extra result
    keys (per-Service colors, the switch id, ...) that the module passes to
    ``fail_json`` so a caller can see the state the group was left in.
    """

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one exception type of the backup module family."""

from __future__ import annotations


class BackupError(Exception):
    """A refusal or failure of a backup, rotation or restore.

    ``msg`` names the object and what to change; ``details`` are extra result keys (the key, what was
    deleted before the failure, ...) that the module hands to ``fail_json``.
    """

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details

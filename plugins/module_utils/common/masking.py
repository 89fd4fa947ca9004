# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every module shows in place of a secret, in diffs and results."""

from __future__ import annotations

MASK = "********"

# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The attributes every module of the collection shares; a module overrides a description where it says more."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Reports what would change and writes nothing.
  diff_mode:
    support: full
    description: Shows the managed state before and after, secrets masked.
  platform:
    support: full
    platforms: all
    description: Runs on the controller, or on any host with the Python requirements that reaches the API.
"""

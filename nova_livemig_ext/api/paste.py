# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Mount the API extension in a copy of nova's api-paste.ini.

The text to add is the shipped snippet (etc/api-paste.ini in the source
tree): its urlmap line, written there as an instruction in a comment, goes
into ``[composite:osapi_compute]``; its sections are appended unchanged.
Used by the tests and the local cloud, so both mount the app exactly as
the operator documentation says.
"""

import re

URLMAP_SECTION = '[composite:osapi_compute]'
_MOUNT = re.compile(r'^#\s+(/v2\.1/os-livemig: \S+)$', re.MULTILINE)


def mount(nova_paste, snippet):
    """Return nova's paste text with the snippet's mount applied.

    :param nova_paste: the text of nova's api-paste.ini.
    :param snippet: the text of the shipped snippet.
    :returns: the new api-paste.ini text. Applying it twice changes
        nothing.
    :raises ValueError: when either text lacks what is needed.
    """
    found = _MOUNT.search(snippet)
    if found is None:
        raise ValueError('the snippet has no "/v2.1/os-livemig:" line')
    line = found.group(1)
    lines = nova_paste.splitlines()
    if URLMAP_SECTION not in lines:
        raise ValueError('no %s section in the api-paste.ini' %
                         URLMAP_SECTION)
    if line in lines:
        return nova_paste
    start = lines.index(URLMAP_SECTION)
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith('[')), len(lines))
    # The last non-empty line of the section keeps the section together.
    while not lines[end - 1].strip():
        end -= 1
    lines.insert(end, line)
    return '\n'.join(lines) + '\n\n' + snippet

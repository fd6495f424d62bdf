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

"""Configure the local cloud's nova with the devstack plugin itself.

With ``DEVSTACK_DIR`` pointing at a devstack checkout, ``tools/minicloud``
writes nova.conf as devstack would before plugins run (nova's filters, no
plugin lines) and nova's stock api-paste.ini, then runs the plugin's
``configure_livemig_ext`` with devstack's own ini helpers on them. The
cloud's nova-api and nova-scheduler then start with exactly the files the
plugin wrote, and the end-to-end tests run against them.
"""

import os
import shutil
import subprocess

SCRIPT = """set -o errexit
source "$DEVSTACK_DIR/functions-common"
source "$DEVSTACK_DIR/inc/ini-config"
source "$LIVEMIG_EXT_DIR/devstack/settings"
source "$LIVEMIG_EXT_DIR/devstack/lib/livemig_ext"
configure_livemig_ext
"""


def helpers():
    """The devstack checkout to use, or None."""
    path = os.environ.get('DEVSTACK_DIR')
    if path and os.path.isfile(os.path.join(path, 'inc', 'ini-config')):
        return path
    return None


def configure(devstack, repo, nova_conf, paste_ini, filters, options):
    """Run the plugin's post-config function on the two files.

    :param filters: nova's ``enabled_filters`` before the plugin, as
        devstack's ``NOVA_FILTERS``.
    :param options: ``[livemig_ext]`` options, passed as the plugin's
        ``LIVEMIG_EXT_<OPTION>`` variables.
    """
    env = {
        'PATH': os.environ.get('PATH', os.defpath),
        'DEVSTACK_DIR': devstack, 'LIVEMIG_EXT_DIR': repo,
        'NOVA_CONF': nova_conf, 'NOVA_API_PASTE_INI': paste_ini,
        'NOVA_FILTERS': filters,
        'ENABLED_SERVICES': 'key,n-api,n-cond,n-cpu,n-sch,placement-api',
    }
    for option, value in options.items():
        env['LIVEMIG_EXT_' + option.upper()] = value
    result = subprocess.run(  # noqa: S603
        [shutil.which('bash'), '-c', SCRIPT, 'bash'], env=env,
        capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError('the devstack plugin failed to configure nova '
                           '(exit %d):\n%s%s' % (result.returncode,
                                                 result.stdout,
                                                 result.stderr))

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

"""openstackclient plugin: ``openstack livemig ...``.

The commands reach the os-livemig API extension through nova's compute
endpoint, with the session and credentials openstackclient already has.
"""

from osc_lib import exceptions
from osc_lib import utils

API_NAME = 'livemig'
API_VERSION_OPTION = 'os_livemig_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = {'1': 'nova_livemig_ext.osc.plugin.Client'}
BASE_PATH = '/os-livemig'


class Client:
    """GETs under /os-livemig on the compute endpoint; faults become errors.

    :param compute: openstacksdk's compute proxy (a keystoneauth adapter).
    """

    def __init__(self, compute):
        self._compute = compute

    def get(self, path, **params):
        params = {k: v for k, v in params.items() if v is not None}
        resp = self._compute.get(BASE_PATH + path, params=params or None,
                                 raise_exc=False)
        if resp.status_code == 200:
            return resp.json()
        raise exceptions.CommandError(_fault_message(resp))

    def compute_get(self, path, microversion=None, **params):
        """GET a path of nova's own compute API (not /os-livemig)."""
        params = {k: v for k, v in params.items() if v is not None}
        resp = self._compute.get(path, params=params or None,
                                 microversion=microversion, raise_exc=False)
        if resp.status_code == 200:
            return resp.json()
        raise exceptions.CommandError(_fault_message(resp))

    def compute_post(self, path, body, microversion=None):
        """POST to nova's own compute API; refusals become errors."""
        resp = self._compute.post(path, json=body, microversion=microversion,
                                  raise_exc=False)
        if resp.status_code in (200, 202, 204):
            return resp
        raise exceptions.CommandError(_fault_message(resp))

    def get_all(self, path, collection, **params):
        """Every item of a paged collection, following its next links."""
        items = []
        marker = None
        while True:
            body = self.get(path, marker=marker, **params)
            page = body.get(collection, [])
            items.extend(page)
            if not body.get(collection + '_links') or not page:
                return items, body
            marker = page[-1]['host' if collection == 'hosts' else 'id']


def _fault_message(resp):
    try:
        body = resp.json()
        (fault,) = body.values()
        return '%s (HTTP %s)' % (fault['message'], resp.status_code)
    except Exception:
        return 'os-livemig API answered HTTP %s: %s' % (
            resp.status_code, (resp.text or '')[:200])


def make_client(instance):
    """The os-livemig client for openstackclient's client manager."""
    return Client(instance.sdk_connection.compute)


def build_option_parser(parser):
    parser.add_argument(
        '--os-livemig-api-version',
        metavar='<livemig-api-version>',
        default=utils.env('OS_LIVEMIG_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='os-livemig API version, default=%s '
             '(Env: OS_LIVEMIG_API_VERSION)' % DEFAULT_API_VERSION)
    return parser

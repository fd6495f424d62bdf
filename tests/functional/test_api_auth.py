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

"""The extension behind keystonemiddleware's real authtoken.

nova's in-process cloud stubs keystone out; here nova-api is loaded from
the shipped paste pipeline with keystonemiddleware's authtoken in place and
its token validation answered by keystonemiddleware's own test fixture (the
identity service is remote). Valid tokens (200 for admins, 403 for members)
are covered by the other API tests, where nova's harness stands in for
keystone.
"""

import os
import shutil
import tempfile

from keystonemiddleware import auth_token  # noqa: F401 (its options)
from keystonemiddleware import fixture as ksm_fixture
from nova import test
from nova.tests import fixtures as nova_fixtures
import requests

from tests.functional import base


class AuthTokenTest(test.TestCase):

    def setUp(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        paste = os.path.join(tmp, 'api-paste.ini')
        with open(paste, 'w') as f:
            f.write(base.paste_ini_with_extension(
                base.nova_api_paste_ini(), base.SHIPPED_SNIPPET))
        self.flags(api_paste_config=paste, group='wsgi')
        super().setUp()
        # The identity service is never called: the fixture answers token
        # validation; authtoken only needs to know where to send users.
        self.flags(www_authenticate_uri='http://127.0.0.1:5000/v3',
                   group='keystone_authtoken')
        self.useFixture(nova_fixtures.RealPolicyFixture())
        self.useFixture(ksm_fixture.AuthTokenFixture())
        self.api_fixture = self.useFixture(nova_fixtures.OSAPIFixture(
            api_version='v2.1', stub_keystone=False))
        self.url = self.api_fixture.base_url + '/os-livemig/hosts'
        self.start_service('conductor')

    def get(self, token=None):
        headers = {'X-Auth-Token': token} if token else {}
        return requests.get(self.url, headers=headers, timeout=30)

    def test_no_token_is_401(self):
        response = self.get()
        self.assertEqual(401, response.status_code)
        # The body is keystonemiddleware's, as for every nova API.
        self.assertEqual(401, response.json()['error']['code'])
        self.assertIn('Keystone uri=', response.headers['WWW-Authenticate'])

    def test_bad_token_is_401(self):
        self.assertEqual(401, self.get('not-a-token').status_code)

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
identity service is remote): tokens the fixture knows are valid, with the
roles given to them; any other token is refused by authtoken itself.
"""

import os
import shutil
import tempfile

from keystonemiddleware import auth_token  # noqa: F401 (its options)
from keystonemiddleware import fixture as ksm_fixture
from nova import test
from nova.tests import fixtures as nova_fixtures
from oslo_utils import uuidutils
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
        self.tokens = self.useFixture(ksm_fixture.AuthTokenFixture())
        self.api_fixture = self.useFixture(nova_fixtures.OSAPIFixture(
            api_version='v2.1', stub_keystone=False))
        self.url = self.api_fixture.base_url + '/os-livemig/hosts'
        self.start_service('conductor')

    def get(self, token=None):
        headers = {'X-Auth-Token': token} if token else {}
        return requests.get(self.url, headers=headers, timeout=30)

    def token(self, *roles):
        """A token keystone would issue for a user of project 'p1'."""
        token_id = uuidutils.generate_uuid(dashed=False)
        self.tokens.add_token_data(
            token_id=token_id, user_id='u1', user_name='user',
            user_domain_id='default',
            project_id='p1', project_name='project',
            project_domain_id='default', role_list=list(roles))
        return token_id

    def assert_unauthorized(self, response):
        # authtoken refused the request; the extension's livemig_faults
        # filter gave the answer nova's fault body.
        self.assertEqual(401, response.status_code)
        self.assertEqual('application/json',
                         response.headers['Content-Type'].split(';')[0])
        fault = response.json()['unauthorized']
        self.assertEqual(401, fault['code'])
        self.assertEqual(
            'The request you have made requires authentication.',
            fault['message'])
        self.assertIn('Keystone uri=', response.headers['WWW-Authenticate'])

    def test_no_token_is_401(self):
        self.assert_unauthorized(self.get())

    def test_unknown_token_is_401(self):
        self.assert_unauthorized(self.get('not-a-token'))

    def test_admin_token_is_200(self):
        response = self.get(self.token('admin', 'member', 'reader'))
        self.assertEqual(200, response.status_code, response.text)
        self.assertEqual({'hosts': [], 'unreachable_cells': []},
                         response.json())

    def test_member_token_is_403(self):
        response = self.get(self.token('member', 'reader'))
        self.assertEqual(403, response.status_code, response.text)
        self.assertEqual(403, response.json()['forbidden']['code'])
        self.assertIn('livemig_ext:hosts:list',
                      response.json()['forbidden']['message'])

    def test_destinations_through_real_authtoken(self):
        self.url = '%s/os-livemig/servers/%s/destinations' % (
            self.api_fixture.base_url, base.uuids.server)
        self.assert_unauthorized(self.get())
        response = self.get(self.token('member', 'reader'))
        self.assertEqual(403, response.status_code, response.text)
        self.assertIn('livemig_ext:servers:destinations',
                      response.json()['forbidden']['message'])
        # An admin passes the policy: the server is unknown.
        response = self.get(self.token('admin', 'member', 'reader'))
        self.assertEqual(404, response.status_code, response.text)
        self.assertEqual(404, response.json()['itemNotFound']['code'])

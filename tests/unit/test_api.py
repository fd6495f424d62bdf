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

"""The API extension's routing, parameters and policy defaults."""

import json

import webob
import webob.dec

from nova_livemig_ext.api import app
from nova_livemig_ext.api import faults
from nova_livemig_ext.api import params
from nova_livemig_ext.api import policies
from tests.unit import base


class ParamsTest(base.TestCase):

    def parse(self, query, **accepted):
        return params.parse(webob.Request.blank('/x?' + query), **accepted)

    def test_accepted(self):
        self.assertEqual({'limit': 5, 'marker': 'm'}, self.parse(
            'limit=5&marker=m', limit=params.LIMIT, marker=params.TEXT))
        self.assertEqual({}, self.parse('', limit=params.LIMIT))

    def test_refused_with_the_parameter_named(self):
        cases = [
            ('limit=abc', 'limit=abc'), ('limit=0', 'limit=0'),
            ('limit=1001', 'limit=1001'), ('limit=-3', 'limit=-3'),
            ('limit=2.5', 'limit=2.5'), ('other=1', 'other'),
            ('limit=1&limit=1', 'limit is given 2 times'),
            ('marker=', 'marker'), ('%ff=1', 'not valid UTF-8'),
        ]
        for query, fragment in cases:
            error = self.assertRaises(
                webob.exc.HTTPBadRequest, self.parse, query,
                limit=params.LIMIT, marker=params.TEXT)
            self.assertIn(fragment, error.explanation, query)


class RoutingTest(base.TestCase):

    def test_routes(self):
        self.assertEqual(({'GET': app.hosts.list_servers}, {'host': 'h1'}),
                         app._route('/hosts/h1/servers'))
        self.assertEqual(({'GET': app.hosts.list_hosts}, {}),
                         app._route('/hosts'))
        self.assertEqual(({'GET': app.hosts.show_host}, {'host': 'h1'}),
                         app._route('/hosts/h1'))
        for path in ('', '/', '/hosts/', '/hosts/h1/servers/',
                     '/hosts//servers', '/hosts/a/b/servers'):
            self.assertIsNone(app._route(path), path)

    def test_every_handler_checks_a_documented_rule(self):
        documented = {(op['method'], op['path'])
                      for rule in policies.list_rules()
                      for op in rule.operations}
        for template, methods in app.ROUTES.items():
            for method in methods:
                self.assertIn((method, '/os-livemig' + template),
                              documented)

    def test_rules_default_to_admin_in_project_scope(self):
        for rule in policies.list_rules():
            self.assertTrue(rule.name.startswith('livemig_ext:'))
            self.assertEqual('rule:context_is_admin', rule.check_str)
            self.assertEqual(['project'], rule.scope_types)


class UnauthorizedFaultTest(base.TestCase):
    """The filter before authtoken: its 401 gets nova's fault body."""

    def call(self, status, body, content_type='application/json',
             headers=()):
        @webob.dec.wsgify
        def below(req):
            response = webob.Response(status=status, body=body,
                                      content_type=content_type)
            response.headers.update(dict(headers))
            return response
        return webob.Request.blank('/v2.1/os-livemig/hosts').get_response(
            faults.filter_factory({})(below))

    def test_authtoken_401_becomes_nova_fault(self):
        # keystonemiddleware's own body and header, as it writes them.
        body = json.dumps({'error': {
            'code': 401, 'title': 'Unauthorized',
            'message': 'The request you have made requires '
                       'authentication.'}}).encode()
        response = self.call(401, body, headers=[
            ('WWW-Authenticate', 'Keystone uri="http://ks/v3"')])
        self.assertEqual(401, response.status_int)
        self.assertEqual({'unauthorized': {
            'code': 401, 'message': 'The request you have made requires '
                                    'authentication.'}}, response.json)
        self.assertEqual('Keystone uri="http://ks/v3"',
                         response.headers['WWW-Authenticate'])

    def test_401_without_a_message_gets_the_default(self):
        for body, content_type in [(b'<html>no</html>', 'text/html'),
                                   (b'{"error": {}}', 'application/json'),
                                   (b'[1]', 'application/json')]:
            response = self.call(401, body, content_type=content_type)
            self.assertEqual(faults.DEFAULT_MESSAGE,
                             response.json['unauthorized']['message'],
                             body)
            self.assertNotIn('WWW-Authenticate', response.headers)

    def test_authtoken_503_becomes_nova_fault(self):
        # webob's page, HTML or JSON, as authtoken raises it when keystone
        # cannot validate the token.
        for body, content_type in [
                (b'<html><title>503 Service Unavailable</title></html>',
                 'text/html'),
                (b'{"code": "503 Service Unavailable", "message": "x", '
                 b'"title": "Service Unavailable"}', 'application/json')]:
            response = self.call(503, body, content_type=content_type)
            self.assertEqual(503, response.status_int)
            self.assertEqual({'serviceUnavailable': {
                'code': 503, 'message': faults.KEYSTONE_UNAVAILABLE}},
                response.json, body)

    def test_other_responses_pass_unchanged(self):
        for status in (200, 403, 404):
            body = json.dumps({'x': status}).encode()
            response = self.call(status, body)
            self.assertEqual(status, response.status_int)
            self.assertEqual(body, response.body)
        body = json.dumps({'serviceUnavailable': {
            'code': 503, 'message': 'The API database did not answer'}})
        response = self.call(503, body.encode())
        self.assertEqual(body.encode(), response.body)


class AppFactoryTest(base.TestCase):
    """nova-api loading the app reads the inventories ahead, if asked."""

    def load(self, **options):
        self.flags(**options)
        prime = self.useFixture(base.fixtures.MockPatch(
            'nova_livemig_ext.usage.placement.INVENTORIES.prime')).mock
        self.assertIsInstance(app.app_factory({}), app.Application)
        return prime

    def test_primes_by_default(self):
        from nova_livemig_ext.usage import hosts as host_usage
        self.load().assert_called_once_with(host_usage.compute_node_uuids)

    def test_no_prime_when_turned_off_or_not_cached(self):
        self.load(inventory_cache_prime=False).assert_not_called()
        self.load(inventory_cache_prime=True,
                  inventory_cache_seconds=0).assert_not_called()

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

import webob

from nova_livemig_ext.api import app
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

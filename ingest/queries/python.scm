; Python tags for the kg code graph. Capture names are documented in ingest/code.py.

(module . (expression_statement (string) @file.doc))

(class_definition
  name: (identifier) @name.definition.class
  body: (block . (expression_statement (string) @definition.doc)?) @definition.body) @definition.class

(function_definition
  name: (identifier) @name.definition.function
  body: (block . (expression_statement (string) @definition.doc)?) @definition.body) @definition.function

(class_definition
  superclasses: (argument_list [(identifier) (attribute) (subscript)] @name.reference.inherits))

(call function: [(identifier) (attribute)] @name.reference.call)

(import_statement
  name: (dotted_name) @name.reference.import) @reference.import
(import_statement
  name: (aliased_import
    name: (dotted_name) @name.reference.import
    alias: (identifier) @import.alias)) @reference.import

(import_from_statement
  module_name: (_) @name.reference.import
  name: (dotted_name) @import.name) @reference.import
(import_from_statement
  module_name: (_) @name.reference.import
  name: (aliased_import
    name: (dotted_name) @import.name
    alias: (identifier) @import.alias)) @reference.import
(import_from_statement
  module_name: (_) @name.reference.import
  (wildcard_import) @import.star) @reference.import

; What evidence says a variable holds: `x = Foo()`, `self.x = Foo()`, `x: Foo`, `def f(x: Foo)`.
(assignment
  left: [(identifier) (attribute object: (identifier) attribute: (identifier))] @local.name
  right: (call function: [(identifier) (attribute)] @local.type))
(assignment
  left: [(identifier) (attribute object: (identifier) attribute: (identifier))] @local.name
  type: (type) @local.type)
(typed_parameter (identifier) @local.name type: (type) @local.type)
(typed_default_parameter name: (identifier) @local.name type: (type) @local.type)

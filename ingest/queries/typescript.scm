; TypeScript tags for the kg code graph (also used for TSX: the TSX grammar shares these node types).
; Capture names are documented in ingest/code.py.

(comment) @doc.comment
(decorator) @doc.skip

(class_declaration
  name: (type_identifier) @name.definition.class
  body: (class_body) @definition.body) @definition.class
(abstract_class_declaration
  name: (type_identifier) @name.definition.class
  body: (class_body) @definition.body) @definition.class
(class
  name: (type_identifier) @name.definition.class
  body: (class_body) @definition.body) @definition.class
(interface_declaration
  name: (type_identifier) @name.definition.interface
  body: (_) @definition.body) @definition.interface
(type_alias_declaration
  name: (type_identifier) @name.definition.type
  value: (_) @definition.body) @definition.type
(enum_declaration
  name: (identifier) @name.definition.enum
  body: (enum_body) @definition.body) @definition.enum

(function_declaration
  name: (identifier) @name.definition.function
  body: (statement_block) @definition.body) @definition.function
(generator_function_declaration
  name: (identifier) @name.definition.function
  body: (statement_block) @definition.body) @definition.function
(function_signature
  name: (identifier) @name.definition.function) @definition.function
(variable_declarator
  name: (identifier) @name.definition.function
  value: [(arrow_function body: (_) @definition.body)
          (function_expression body: (_) @definition.body)]) @definition.function

(method_definition
  name: [(property_identifier) (private_property_identifier)] @name.definition.method
  body: (statement_block) @definition.body) @definition.method
(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name.definition.method
  value: [(arrow_function body: (_) @definition.body)
          (function_expression body: (_) @definition.body)]) @definition.method
(abstract_method_signature
  name: (property_identifier) @name.definition.method) @definition.method
(method_signature
  name: (property_identifier) @name.definition.method) @definition.method
; A member whose type is a function is a method in all but name (`checkCallback?: (checking:
; boolean) => boolean`, `onClose: () => void;` in a declared class); other typed members are data.
; Only members of an interface or of a named object type: an inline type (a parameter's, a
; return type's) declares nothing.
(interface_body
  (property_signature
    name: (property_identifier) @name.definition.method
    type: (type_annotation [(function_type) (parenthesized_type (function_type))])) @definition.method)
(type_alias_declaration
  value: (object_type
    (property_signature
      name: (property_identifier) @name.definition.method
      type: (type_annotation [(function_type) (parenthesized_type (function_type))])) @definition.method))
(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name.definition.method
  type: (type_annotation [(function_type) (parenthesized_type (function_type))])
  !value) @definition.method

(extends_clause value: [(identifier) (member_expression)] @name.reference.inherits)
(implements_clause [(type_identifier) (nested_type_identifier) (generic_type)] @name.reference.inherits)
(extends_type_clause type: [(type_identifier) (nested_type_identifier) (generic_type)] @name.reference.inherits)

(call_expression function: [(identifier) (member_expression)] @name.reference.call)
(new_expression constructor: [(identifier) (member_expression)] @name.reference.call)

(import_statement
  source: (string (string_fragment) @name.reference.import)) @reference.import
(import_statement
  (import_clause (identifier) @import.default)
  source: (string (string_fragment) @name.reference.import)) @reference.import
(import_statement
  (import_clause (namespace_import (identifier) @import.alias))
  source: (string (string_fragment) @name.reference.import)) @reference.import
(import_statement
  (import_clause (named_imports (import_specifier name: (_) @import.name alias: (_)? @import.alias)))
  source: (string (string_fragment) @name.reference.import)) @reference.import
(export_statement
  source: (string (string_fragment) @name.reference.import)) @reference.import
(call_expression
  function: (import)
  arguments: (arguments . (string (string_fragment) @name.reference.import))) @reference.import

(call_expression
  function: (identifier) @_require
  arguments: (arguments . (string (string_fragment) @name.reference.import))
  (#eq? @_require "require")) @reference.import
(variable_declarator
  name: (identifier) @import.alias
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string (string_fragment) @name.reference.import)))
  (#eq? @_require "require")) @reference.import

; What evidence says a variable holds: `const x = new Foo()`, `x: Foo`, `this.x = new Foo()`,
; a typed parameter or a typed class field (`private store: Store`).
(variable_declarator
  name: (identifier) @local.name
  value: (new_expression constructor: [(identifier) (member_expression)] @local.type))
(variable_declarator
  name: (identifier) @local.name
  type: (type_annotation [(type_identifier) (nested_type_identifier) (generic_type)] @local.type))
(assignment_expression
  left: (member_expression object: (this) property: (property_identifier)) @local.name
  right: (new_expression constructor: [(identifier) (member_expression)] @local.type))
(required_parameter
  pattern: (identifier) @local.name
  type: (type_annotation [(type_identifier) (nested_type_identifier) (generic_type)] @local.type))
(optional_parameter
  pattern: (identifier) @local.name
  type: (type_annotation [(type_identifier) (nested_type_identifier) (generic_type)] @local.type))
(public_field_definition
  name: (property_identifier) @local.name
  type: (type_annotation [(type_identifier) (nested_type_identifier) (generic_type)] @local.type))

; Anonymous functions: what is defined or declared inside one is not seen outside it.
[(arrow_function) (function_expression)] @closure

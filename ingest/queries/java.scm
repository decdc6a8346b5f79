; Java tags for the kg code graph. Capture names are documented in ingest/code.py.

; Javadoc only: a `//` or `/* */` comment above a definition is not its documentation.
((block_comment) @doc.comment
  (#match? @doc.comment "^/[*][*]"))

(package_declaration [(identifier) (scoped_identifier)] @file.package)

; Types. Annotation types (`@interface`) are interfaces; records are classes.
(class_declaration
  name: (identifier) @name.definition.class
  body: (class_body) @definition.body) @definition.class
(record_declaration
  name: (identifier) @name.definition.class
  body: (class_body) @definition.body) @definition.class
(interface_declaration
  name: (identifier) @name.definition.interface
  body: (interface_body) @definition.body) @definition.interface
(annotation_type_declaration
  name: (identifier) @name.definition.interface
  body: (annotation_type_body) @definition.body) @definition.interface
(enum_declaration
  name: (identifier) @name.definition.enum
  body: (enum_body) @definition.body) @definition.enum

; Methods (abstract and interface methods have no body) and constructors.
(method_declaration
  name: (identifier) @name.definition.method
  parameters: (formal_parameters) @definition.parameters
  body: (block)? @definition.body) @definition.method
(constructor_declaration
  name: (identifier) @name.definition.method
  parameters: (formal_parameters) @definition.parameters
  body: (constructor_body) @definition.body) @definition.method
(compact_constructor_declaration
  name: (identifier) @name.definition.method
  body: (block) @definition.body) @definition.method
(annotation_type_element_declaration
  name: (identifier) @name.definition.method) @definition.method

(superclass [(type_identifier) (scoped_type_identifier) (generic_type)] @name.reference.inherits)
(super_interfaces
  (type_list [(type_identifier) (scoped_type_identifier) (generic_type)] @name.reference.inherits))
(extends_interfaces
  (type_list [(type_identifier) (scoped_type_identifier) (generic_type)] @name.reference.inherits))

; Calls. A method invocation has no node for `obj.m`: the receiver and the name are both
; captured, and the callee is the text from the first to the last (`obj.m`, `this.m`,
; `super.m`, `Foo.m`, `a.b.m`); `m()` alone captures the name only.
(method_invocation
  object: (_)? @name.reference.call
  name: (identifier) @name.reference.call
  arguments: (argument_list) @call.arguments)
; `new Foo()` calls the class Foo (its constructor).
(object_creation_expression
  type: [(type_identifier) (scoped_type_identifier)] @name.reference.call)
(object_creation_expression
  type: (generic_type [(type_identifier) (scoped_type_identifier)] @name.reference.call))

(import_declaration
  [(identifier) (scoped_identifier)] @name.reference.import
  (asterisk)? @import.star) @reference.import

; What evidence says a variable holds: its declared type (locals, fields, parameters, loop
; variables), the class a `var` is constructed from, or a constructed `this.x = new Foo()`.
(local_variable_declaration
  type: [(type_identifier) (scoped_type_identifier) (generic_type)] @local.type
  declarator: (variable_declarator name: (identifier) @local.name)
  (#not-eq? @local.type "var"))
(local_variable_declaration
  type: (type_identifier) @_var
  declarator: (variable_declarator
    name: (identifier) @local.name
    value: (object_creation_expression
      type: [(type_identifier) (scoped_type_identifier) (generic_type)] @local.type))
  (#eq? @_var "var"))
(field_declaration
  type: [(type_identifier) (scoped_type_identifier) (generic_type)] @local.type
  declarator: (variable_declarator name: (identifier) @local.name))
(formal_parameter
  type: [(type_identifier) (scoped_type_identifier) (generic_type)] @local.type
  name: (identifier) @local.name)
(enhanced_for_statement
  type: [(type_identifier) (scoped_type_identifier) (generic_type)] @local.type
  name: (identifier) @local.name
  (#not-eq? @local.type "var"))
(assignment_expression
  left: (field_access object: (this) field: (identifier)) @local.name
  right: (object_creation_expression
    type: [(type_identifier) (scoped_type_identifier) (generic_type)] @local.type))

; Anonymous functions: what is defined or declared inside one is not seen outside it.
(lambda_expression) @closure

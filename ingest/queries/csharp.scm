; C# tags for the kg code graph. Capture names are documented in ingest/code.py.

; XML doc comments (`///`, `/** */`) only: a `//` comment above a definition is not its doc.
((comment) @doc.comment
  (#match? @doc.comment "^(///|/[*][*])"))

(namespace_declaration name: [(identifier) (qualified_name)] @file.package)
(file_scoped_namespace_declaration name: [(identifier) (qualified_name)] @file.package)

; Types. A namespace qualifies nothing: like a Java package it is @file.package, and
; the classes in it keep their plain names.
(class_declaration
  name: (identifier) @name.definition.class
  body: (declaration_list) @definition.body) @definition.class
(record_declaration
  name: (identifier) @name.definition.class
  body: (declaration_list)? @definition.body) @definition.class
(struct_declaration
  name: (identifier) @name.definition.struct
  body: (declaration_list) @definition.body) @definition.struct
(interface_declaration
  name: (identifier) @name.definition.interface
  body: (declaration_list) @definition.body) @definition.interface
(enum_declaration
  name: (identifier) @name.definition.enum
  body: (enum_member_declaration_list) @definition.body) @definition.enum
(delegate_declaration
  name: (identifier) @name.definition.type) @definition.type

; Methods (abstract, extern and interface methods have no body), constructors,
; finalizers and local functions. Properties, indexers and operators are not definitions.
(method_declaration
  name: (identifier) @name.definition.method
  parameters: (parameter_list) @definition.parameters
  body: [(block) (arrow_expression_clause)]? @definition.body) @definition.method
(constructor_declaration
  name: (identifier) @name.definition.method
  parameters: (parameter_list) @definition.parameters
  body: [(block) (arrow_expression_clause)] @definition.body) @definition.method
(destructor_declaration
  name: (identifier) @name.definition.method
  body: [(block) (arrow_expression_clause)] @definition.body) @definition.method
(local_function_statement
  name: (identifier) @name.definition.function
  body: [(block) (arrow_expression_clause)] @definition.body) @definition.function

(base_list [(identifier) (qualified_name) (generic_name)] @name.reference.inherits)
(base_list
  (primary_constructor_base_type type: [(identifier) (qualified_name) (generic_name)] @name.reference.inherits))

; Calls: `m()`, `obj.m()`, `this.m()`, `base.m()`, `Foo.m()`; `M<T>()` as `M`.
(invocation_expression
  function: [(identifier) (member_access_expression) (qualified_name)] @name.reference.call
  arguments: (argument_list) @call.arguments)
(invocation_expression
  function: (generic_name (identifier) @name.reference.call)
  arguments: (argument_list) @call.arguments)
; `new Foo()` calls the class Foo (its constructor).
(object_creation_expression
  type: [(identifier) (qualified_name)] @name.reference.call)
(object_creation_expression
  type: (generic_name (identifier) @name.reference.call))

; `using A.B;` names a namespace, `using static A.B.C;` a class, `using C = A.B;` aliases it.
(using_directive
  !name
  [(identifier) (qualified_name)] @name.reference.import) @reference.import
(using_directive
  name: (identifier) @import.alias
  [(identifier) (qualified_name)] @name.reference.import) @reference.import

; What evidence says a variable holds: its declared type (locals, fields, parameters, loop
; variables, properties), the class a `var` is constructed from, or `this.x = new Foo()`.
(variable_declaration
  type: [(identifier) (qualified_name) (generic_name)] @local.type
  (variable_declarator name: (identifier) @local.name))
(variable_declaration
  type: (implicit_type)
  (variable_declarator
    name: (identifier) @local.name
    (object_creation_expression type: [(identifier) (qualified_name) (generic_name)] @local.type)))
(parameter
  type: [(identifier) (qualified_name) (generic_name)] @local.type
  name: (identifier) @local.name)
(foreach_statement
  type: [(identifier) (qualified_name) (generic_name)] @local.type
  left: (identifier) @local.name)
(property_declaration
  type: [(identifier) (qualified_name) (generic_name)] @local.type
  name: (identifier) @local.name)
(assignment_expression
  left: (member_access_expression expression: "this" name: (identifier)) @local.name
  right: (object_creation_expression type: [(identifier) (qualified_name) (generic_name)] @local.type))

; Anonymous functions: what is defined or declared inside one is not seen outside it.
[(lambda_expression) (anonymous_method_expression)] @closure

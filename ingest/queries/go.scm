; Go tags for the kg code graph. Capture names are documented in ingest/code.py.

(comment) @doc.comment

(function_declaration
  name: (identifier) @name.definition.function
  body: (block)? @definition.body) @definition.function
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      name: (identifier)? @definition.self
      type: [(type_identifier) @definition.receiver
             (pointer_type (type_identifier) @definition.receiver)
             (generic_type type: (type_identifier) @definition.receiver)
             (pointer_type (generic_type type: (type_identifier) @definition.receiver))]))
  name: (field_identifier) @name.definition.method
  body: (block)? @definition.body) @definition.method

(type_spec
  name: (type_identifier) @name.definition.struct
  type: (struct_type) @definition.body) @definition.struct
(type_spec
  name: (type_identifier) @name.definition.interface
  type: (interface_type) @definition.body) @definition.interface
(type_spec
  name: (type_identifier) @name.definition.type
  type: [(type_identifier) (qualified_type) (generic_type) (pointer_type) (slice_type)
         (array_type) (map_type) (channel_type) (function_type)]) @definition.type
(type_alias
  name: (type_identifier) @name.definition.type) @definition.type
(method_elem
  name: (field_identifier) @name.definition.method) @definition.method

(field_declaration_list
  (field_declaration
    !name
    type: [(type_identifier) (qualified_type)
           (pointer_type [(type_identifier) (qualified_type)])] @name.reference.inherits))
(interface_type
  (type_elem [(type_identifier) (qualified_type)] @name.reference.inherits))

(call_expression function: [(identifier) (selector_expression)] @name.reference.call)

(import_spec
  name: [(package_identifier) (dot) (blank_identifier)]? @import.alias
  path: (_) @name.reference.import) @reference.import

; What evidence says a variable holds: a typed parameter or var, or a composite literal.
(parameter_declaration
  name: (identifier) @local.name
  type: [(type_identifier) (qualified_type) (pointer_type) (generic_type)] @local.type)
(var_spec
  name: (identifier) @local.name
  type: [(type_identifier) (qualified_type) (pointer_type) (generic_type)] @local.type)
(short_var_declaration
  left: (expression_list . (identifier) @local.name)
  right: (expression_list . [(composite_literal type: (_) @local.type)
                             (unary_expression operand: (composite_literal type: (_) @local.type))]))

; Anonymous functions: what is defined or declared inside one is not seen outside it.
(func_literal) @closure

; PHP tags for the kg code graph. Capture names are documented in ingest/code.py.
;
; A callee with a receiver is captured on two nodes, receiver and method name: the callee is
; the text from the first to the last (`$this->save`, `Foo::make`, never the arguments).
; `#not-match?` rather than `#not-any-of?`, which py-tree-sitter 0.26 does not apply.

(comment) @doc.comment
(attribute_list) @doc.skip

(namespace_definition name: (namespace_name) @file.package)

(class_declaration
  name: (name) @name.definition.class
  body: (declaration_list) @definition.body) @definition.class
(interface_declaration
  name: (name) @name.definition.interface
  body: (declaration_list) @definition.body) @definition.interface
(trait_declaration
  name: (name) @name.definition.trait
  body: (declaration_list) @definition.body) @definition.trait
(enum_declaration
  name: (name) @name.definition.enum
  body: (enum_declaration_list) @definition.body) @definition.enum

(function_definition
  name: (name) @name.definition.function
  body: (compound_statement) @definition.body) @definition.function
(method_declaration
  name: (name) @name.definition.method
  body: (compound_statement)? @definition.body) @definition.method

(base_clause [(name) (qualified_name)] @name.reference.inherits)
(class_interface_clause [(name) (qualified_name)] @name.reference.inherits)
(declaration_list (use_declaration [(name) (qualified_name)] @name.reference.inherits))

(function_call_expression function: [(name) (qualified_name)] @name.reference.call)
(member_call_expression
  object: (_) @name.reference.call
  name: (name) @name.reference.call)
(nullsafe_member_call_expression
  object: (_) @name.reference.call
  name: (name) @name.reference.call)
(scoped_call_expression
  scope: (_) @name.reference.call
  name: (name) @name.reference.call)
(object_creation_expression
  [(name) (qualified_name)] @name.reference.call
  (#not-match? @name.reference.call "^(self|static|parent)$"))

; `use A\B\C;`, `use A\B\C as D;`, `use function A\f;`; a group `use A\{B, C as D};` names
; the namespace and the names it imports from it.
(namespace_use_declaration
  (namespace_use_clause
    . [(qualified_name) (name)] @name.reference.import
    alias: (name)? @import.alias)) @reference.import
(namespace_use_declaration
  (namespace_name) @name.reference.import
  body: (namespace_use_group
    (namespace_use_clause
      . [(qualified_name) (name)] @import.name
      alias: (name)? @import.alias))) @reference.import

; What evidence says a variable holds: `$x = new Foo()`, `$this->x = new Foo()`, `Foo $x`.
(assignment_expression
  left: [(variable_name)
         (member_access_expression object: (variable_name) name: (name))] @local.name
  right: (object_creation_expression [(name) (qualified_name)] @local.type))
(simple_parameter
  type: [(named_type) @local.type (optional_type (named_type) @local.type)]
  name: (variable_name) @local.name)
; A property (declared, or promoted by the constructor) is `$this->name` in every method.
(property_promotion_parameter
  type: [(named_type) @local.type (optional_type (named_type) @local.type)]
  name: (variable_name (name) @local.name)) @local.member
(property_declaration
  type: [(named_type) @local.type (optional_type (named_type) @local.type)]
  (property_element name: (variable_name (name) @local.name))) @local.member

; Rust tags for the kg code graph. Capture names are documented in ingest/code.py.

(line_comment) @doc.comment
(block_comment) @doc.comment
(attribute_item) @doc.skip

(struct_item
  name: (type_identifier) @name.definition.struct
  body: (_)? @definition.body) @definition.struct
(enum_item
  name: (type_identifier) @name.definition.enum
  body: (enum_variant_list) @definition.body) @definition.enum
(union_item
  name: (type_identifier) @name.definition.union
  body: (_) @definition.body) @definition.union
(trait_item
  name: (type_identifier) @name.definition.trait
  body: (declaration_list) @definition.body) @definition.trait
(type_item
  name: (type_identifier) @name.definition.type) @definition.type

(function_item
  name: (identifier) @name.definition.function
  body: (block) @definition.body) @definition.function
(function_signature_item
  name: (identifier) @name.definition.function) @definition.function

(impl_item
  type: [(type_identifier) @name.scope
         (generic_type type: (type_identifier) @name.scope)
         (scoped_type_identifier name: (type_identifier) @name.scope)]
  body: (declaration_list)) @scope
(mod_item
  name: (identifier) @name.scope
  body: (declaration_list)) @scope @scope.module

(impl_item
  trait: [(type_identifier) (scoped_type_identifier) (generic_type)] @name.reference.inherits)
(trait_item
  bounds: (trait_bounds [(type_identifier) (scoped_type_identifier) (generic_type)] @name.reference.inherits))

(call_expression
  function: [(identifier) (scoped_identifier) (field_expression)] @name.reference.call)
(call_expression
  function: (generic_function
    function: [(identifier) (scoped_identifier) (field_expression)] @name.reference.call))

(mod_item
  !body
  name: (identifier) @name.reference.import) @reference.import @import.include
(extern_crate_declaration
  name: (identifier) @name.reference.import) @reference.import
(use_declaration
  argument: [(identifier) (crate) (self) (super)] @name.reference.import) @reference.import
(use_declaration
  argument: (use_as_clause
    path: [(identifier) (crate) (self) (super)] @name.reference.import
    alias: (identifier) @import.alias)) @reference.import
(use_declaration
  argument: (scoped_identifier
    path: (_) @name.reference.import
    name: (identifier) @import.name)) @reference.import
(use_declaration
  argument: (use_as_clause
    path: (scoped_identifier
      path: (_) @name.reference.import
      name: (identifier) @import.name)
    alias: (identifier) @import.alias)) @reference.import
(use_declaration
  argument: (use_wildcard
    [(identifier) (scoped_identifier) (crate) (self) (super)] @name.reference.import) @import.star) @reference.import
(use_declaration
  argument: (scoped_use_list
    path: (_) @name.reference.import
    list: (use_list [(identifier) (self)] @import.name))) @reference.import
(use_declaration
  argument: (scoped_use_list
    path: (_) @name.reference.import
    list: (use_list
      (use_as_clause path: (identifier) @import.name alias: (identifier) @import.alias)))) @reference.import
;; one level of nesting: `use crate::{searcher::{BinaryDetection, Searcher}, sink::Sink}`
(use_declaration
  argument: (scoped_use_list
    path: (_) @import.prefix
    list: (use_list
      (scoped_use_list
        path: (_) @name.reference.import
        list: (use_list [(identifier) (self)] @import.name))))) @reference.import
(use_declaration
  argument: (scoped_use_list
    path: (_) @import.prefix
    list: (use_list
      (scoped_identifier path: (_) @name.reference.import name: (identifier) @import.name)))) @reference.import

; What evidence says a variable holds: a typed let or parameter, or `Type::new(..)`.
(let_declaration pattern: (identifier) @local.name type: (_) @local.type)
(parameter pattern: (identifier) @local.name type: (_) @local.type)
(let_declaration
  pattern: (identifier) @local.name
  value: (call_expression
    function: (scoped_identifier path: (_) @local.type name: (identifier) @_ctor (#eq? @_ctor "new"))))

; Anonymous functions: what is defined or declared inside one is not seen outside it.
(closure_expression) @closure

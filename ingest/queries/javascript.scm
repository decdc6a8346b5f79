; JavaScript (and JSX) tags for the kg code graph. Capture names are documented in ingest/code.py.

(comment) @doc.comment

(class_declaration
  name: (identifier) @name.definition.class
  body: (class_body) @definition.body) @definition.class
(class
  name: (identifier) @name.definition.class
  body: (class_body) @definition.body) @definition.class

(function_declaration
  name: (identifier) @name.definition.function
  body: (statement_block) @definition.body) @definition.function
(generator_function_declaration
  name: (identifier) @name.definition.function
  body: (statement_block) @definition.body) @definition.function
(variable_declarator
  name: (identifier) @name.definition.function
  value: [(arrow_function body: (_) @definition.body)
          (function_expression body: (_) @definition.body)]) @definition.function

;; `res.send = function send () {...}`, `exports.parse = (s) => ...`: a method of what it is assigned on
(assignment_expression
  left: (member_expression
    object: (_) @definition.receiver
    property: (property_identifier) @name.definition.function)
  right: [(arrow_function body: (_) @definition.body)
          (function_expression body: (_) @definition.body)]) @definition.function

;; `defineGetter(req, 'ip', function ip() {...})`: a define... helper (or
;; `Object.defineProperty` with a getter) defines a property of its first argument, named by
;; its second (not any call of that shape: `readFile(f, 'utf8', function ...)` defines nothing)
(call_expression
  function: (identifier) @_define
  arguments: (arguments
    . (identifier) @definition.receiver
    . (string (string_fragment) @name.definition.function)
    . [(arrow_function body: (_) @definition.body)
       (function_expression body: (_) @definition.body)] .)
  (#match? @_define "^define[A-Z_]|^define$")) @definition.function
(call_expression
  function: (member_expression object: (identifier) @_object property: (property_identifier) @_define)
  arguments: (arguments
    . (identifier) @definition.receiver
    . (string (string_fragment) @name.definition.function)
    . (object (pair key: (property_identifier) @_get
                    value: [(arrow_function body: (_) @definition.body)
                            (function_expression body: (_) @definition.body)])) .)
  (#eq? @_object "Object") (#eq? @_define "defineProperty") (#eq? @_get "get")) @definition.function

(method_definition
  name: [(property_identifier) (private_property_identifier)] @name.definition.method
  body: (statement_block) @definition.body) @definition.method
(field_definition
  property: [(property_identifier) (private_property_identifier)] @name.definition.method
  value: [(arrow_function body: (_) @definition.body)
          (function_expression body: (_) @definition.body)]) @definition.method

(class_heritage [(identifier) (member_expression)] @name.reference.inherits)

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
(variable_declarator
  name: (object_pattern
    [(shorthand_property_identifier_pattern) @import.name
     (pair_pattern key: (_) @import.name value: (identifier) @import.alias)])
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string (string_fragment) @name.reference.import)))
  (#eq? @_require "require")) @reference.import

; What evidence says a variable holds: `const x = new Foo()`, `this.x = new Foo()`.
(variable_declarator
  name: (identifier) @local.name
  value: (new_expression constructor: [(identifier) (member_expression)] @local.type))
(assignment_expression
  left: (member_expression object: (this) property: (property_identifier)) @local.name
  right: (new_expression constructor: [(identifier) (member_expression)] @local.type))

; Anonymous functions: what is defined or declared inside one is not seen outside it.
[(arrow_function) (function_expression)] @closure

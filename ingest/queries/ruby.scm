; Ruby tags for the kg code graph. Capture names are documented in ingest/code.py.
;
; A module is a `trait`: like a trait it holds methods, mixes into classes (`include`) and
; cannot be instantiated, and its type tells it apart from a class.
; A callee with a receiver is captured on two nodes, receiver and method name: the callee is
; the text from the first to the last (`x.save`, `Shop::Util.log`, never the arguments).
; `#not-match?` rather than `#not-any-of?`, which py-tree-sitter 0.26 does not apply.

(comment) @doc.comment

(class
  name: [(constant) @name.definition.class
         (scope_resolution scope: (_) @definition.receiver name: (constant) @name.definition.class)]
  body: (body_statement)? @definition.body) @definition.class
(module
  name: [(constant) @name.definition.trait
         (scope_resolution scope: (_) @definition.receiver name: (constant) @name.definition.trait)]
  body: (body_statement)? @definition.body) @definition.trait

(method
  name: (_) @name.definition.function
  body: (_)? @definition.body) @definition.function
(singleton_method
  name: (_) @name.definition.method
  body: (_)? @definition.body) @definition.method

(class superclass: (superclass [(constant) (scope_resolution)] @name.reference.inherits))
(call
  !receiver
  method: (identifier) @_mixin
  arguments: (argument_list [(constant) (scope_resolution)] @name.reference.inherits)
  (#match? @_mixin "^(include|extend|prepend)$"))

; Calls: `x.m`, `Foo::Bar.m`, `self.m`; a bare `m(args)` or `m { block }`. A bare `m` with
; neither may be a local variable, so it is left out. `Foo.new` is a call of the class `Foo`;
; `klass.new` stays a call of `new`.
(call
  receiver: (_) @name.reference.call
  method: [(identifier) (constant)] @name.reference.call @_method
  (#not-eq? @_method "new"))
(call
  receiver: [(constant) (scope_resolution)] @name.reference.call
  method: (identifier) @_new
  (#eq? @_new "new"))
(call
  receiver: (_) @name.reference.call @_receiver
  method: (identifier) @name.reference.call @_new
  (#eq? @_new "new")
  (#not-match? @_receiver "^(::)?[A-Z]"))
(call
  !receiver
  method: (identifier) @name.reference.call
  arguments: (argument_list)
  (#not-match? @name.reference.call "^(require|require_relative|include|extend|prepend|attr_reader|attr_writer|attr_accessor|private|protected|public|module_function|private_constant)$"))
(call
  !receiver
  !arguments
  method: (identifier) @name.reference.call
  block: (_))

(call
  !receiver
  method: (identifier) @_require
  arguments: (argument_list . (string . (string_content) @name.reference.import .))
  (#eq? @_require "require")) @reference.import
(call
  !receiver
  method: (identifier) @_require @import.relative
  arguments: (argument_list . (string . (string_content) @name.reference.import .))
  (#eq? @_require "require_relative")) @reference.import

; What evidence says a variable holds: `x = Foo.new`, `@x = Foo::Bar.new`, `@x ||= Foo.new`.
(assignment
  left: [(identifier) (instance_variable)] @local.name
  right: (call
    receiver: [(constant) (scope_resolution)] @local.type
    method: (identifier) @_new)
  (#eq? @_new "new"))
(operator_assignment
  left: [(identifier) (instance_variable)] @local.name
  right: (call
    receiver: [(constant) (scope_resolution)] @local.type
    method: (identifier) @_new)
  (#eq? @_new "new"))

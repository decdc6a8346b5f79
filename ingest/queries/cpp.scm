; C++ tags for the kg code graph. Capture names are documented in ingest/code.py.
; Only definitions with a body count: prototypes and in-class declarations (`void m();`,
; `virtual void m() = 0;`, `A() = default;`) are not definitions. An out-of-line method
; `void Order::submit() {...}` is `Order.submit`: its innermost qualifier is the receiver.
; Alternations hold plain nodes only: tree-sitter skips some branches of an alternation
; nested inside another, so each name shape is its own branch.

(comment) @doc.comment
(template_declaration parameters: (template_parameter_list) @doc.skip)

;; -- classes -------------------------------------------------------------------------------

(class_specifier
  name: [(type_identifier) @name.definition.class
         (template_type name: (type_identifier) @name.definition.class)
         (qualified_identifier name: (type_identifier) @name.definition.class)]
  body: (field_declaration_list) @definition.body) @definition.class
(struct_specifier
  name: [(type_identifier) @name.definition.struct
         (template_type name: (type_identifier) @name.definition.struct)
         (qualified_identifier name: (type_identifier) @name.definition.struct)]
  body: (field_declaration_list) @definition.body) @definition.struct
(union_specifier
  name: [(type_identifier) @name.definition.union
         (template_type name: (type_identifier) @name.definition.union)]
  body: (field_declaration_list) @definition.body) @definition.union
(enum_specifier
  name: [(type_identifier) @name.definition.enum
         (qualified_identifier name: (type_identifier) @name.definition.enum)]
  body: (enumerator_list) @definition.body) @definition.enum

;; `typedef struct {...} Name;` (C style): the anonymous struct is known by its typedef name
(type_definition
  type: (struct_specifier !name body: (field_declaration_list) @definition.body)
  declarator: (type_identifier) @name.definition.struct) @definition.struct
(type_definition
  type: (union_specifier !name body: (field_declaration_list) @definition.body)
  declarator: (type_identifier) @name.definition.union) @definition.union
(type_definition
  type: (enum_specifier !name body: (enumerator_list) @definition.body)
  declarator: (type_identifier) @name.definition.enum) @definition.enum

;; A namespace is not a @scope (yet): C++ code names what a namespace holds without it
;; (`using namespace shop;`, code inside `namespace shop {}` in another file), and an
;; out-of-line `void Order::submit()` inside `namespace shop {...}` would lose its receiver, so
;; `shop.Order` / `Order.submit` would never meet. `class Order` in `namespace shop` is `Order`.

(base_class_clause [(type_identifier) (qualified_identifier) (template_type)] @name.reference.inherits)

;; -- functions and methods -----------------------------------------------------------------
;; The declarator may sit under pointers and references (`Foo *make()`, `const Foo &get()`).
;; A function inside a class becomes a method (ingest/code.py); a namespace is no scope here.

;; `void f() {...}`, `Foo() {...}`, `~Foo() {...}`, `bool operator==(...) {...}`; out of line,
;; `void Foo::bar() {...}`, `Foo<T>::bar`, `ns::Foo::~Foo`: the innermost qualifier is the receiver
(function_definition
  (storage_class_specifier)* @definition.storage
  declarator: [
    (function_declarator
      declarator: [
        (identifier) @name.definition.function
        (field_identifier) @name.definition.function
        (operator_name) @name.definition.function
        (destructor_name) @name.definition.function
        (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function)
        (qualified_identifier name: (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function))
        (qualified_identifier name: (qualified_identifier name: (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function)))])
    (pointer_declarator declarator: (function_declarator
      declarator: [
        (identifier) @name.definition.function
        (field_identifier) @name.definition.function
        (operator_name) @name.definition.function
        (destructor_name) @name.definition.function
        (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function)
        (qualified_identifier name: (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function))
        (qualified_identifier name: (qualified_identifier name: (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function)))]))
    (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator
      declarator: [
        (identifier) @name.definition.function
        (field_identifier) @name.definition.function
        (operator_name) @name.definition.function
        (destructor_name) @name.definition.function
        (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function)
        (qualified_identifier name: (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function))
        (qualified_identifier name: (qualified_identifier name: (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function)))])))
    (reference_declarator (function_declarator
      declarator: [
        (identifier) @name.definition.function
        (field_identifier) @name.definition.function
        (operator_name) @name.definition.function
        (destructor_name) @name.definition.function
        (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function)
        (qualified_identifier name: (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function))
        (qualified_identifier name: (qualified_identifier name: (qualified_identifier
          scope: [(namespace_identifier) @definition.receiver
                  (template_type name: (type_identifier) @definition.receiver)]
          name: [(identifier) (operator_name) (destructor_name)] @name.definition.function)))]))]
  body: (_) @definition.body) @definition.function

;; a conversion operator is named as written, `operator bool() const` (its declarator is all
;; there is): `explicit operator bool() const {...}`, `Foo::operator Bar*() {...}`
(function_definition
  (storage_class_specifier)* @definition.storage
  declarator: [
    (operator_cast) @name.definition.function
    (qualified_identifier
      scope: [(namespace_identifier) @definition.receiver
              (template_type name: (type_identifier) @definition.receiver)]
      name: (operator_cast) @name.definition.function)
    (qualified_identifier name: (qualified_identifier
      scope: [(namespace_identifier) @definition.receiver
              (template_type name: (type_identifier) @definition.receiver)]
      name: (operator_cast) @name.definition.function))
    (qualified_identifier name: (qualified_identifier name: (qualified_identifier
      scope: [(namespace_identifier) @definition.receiver
              (template_type name: (type_identifier) @definition.receiver)]
      name: (operator_cast) @name.definition.function)))]
  body: (_) @definition.body) @definition.function

;; a name made by a macro, `void NOINLINE(run)() {...}`, is named `NOINLINE(run)`
(function_definition
  (storage_class_specifier)* @definition.storage
  declarator: (function_declarator declarator: (function_declarator) @name.definition.function)
  body: (_) @definition.body) @definition.function

;; -- calls ---------------------------------------------------------------------------------
;; `f()`, `obj.m()`, `p->m()` (read as `p.m`), `this->m()`, `Foo::m()`, `std::move(x)`,
;; `make<T>()`, and `new Foo(...)` (a call to the class, like a constructor call elsewhere)

(call_expression
  function: [(identifier) (field_expression) (qualified_identifier)] @name.reference.call)
(call_expression
  function: (template_function name: (identifier) @name.reference.call))
(new_expression
  type: [(type_identifier) (qualified_identifier) (template_type name: (type_identifier))] @name.reference.call)

;; -- typed locals: what a later `x.m()` / `x->m()` calls a method of ------------------------

;; `Foo x;`, `Foo x(1);`, `Foo *p = new Foo();`, `const Foo &r = ...;`
(declaration
  type: [(type_identifier) (qualified_identifier) (template_type)] @local.type
  declarator: [
    (identifier) @local.name
    (pointer_declarator declarator: (identifier) @local.name)
    (reference_declarator (identifier) @local.name)
    (init_declarator
      declarator: [(identifier) @local.name
                   (pointer_declarator declarator: (identifier) @local.name)
                   (reference_declarator (identifier) @local.name)])])

;; `std::unique_ptr<Foo> p = ...;` and friends point at a Foo
(declaration
  type: (qualified_identifier
    name: (template_type
      name: (type_identifier) @_smart
      arguments: (template_argument_list . (type_descriptor type: (_) @local.type))))
  declarator: [(identifier) @local.name (init_declarator declarator: (identifier) @local.name)]
  (#match? @_smart "^(unique_ptr|shared_ptr|weak_ptr)$"))

;; `auto x = Foo(...);`, `auto *p = new Foo;`, `auto p = std::make_unique<Foo>();`
(declaration
  type: (placeholder_type_specifier)
  declarator: (init_declarator
    declarator: [(identifier) @local.name
                 (pointer_declarator declarator: (identifier) @local.name)
                 (reference_declarator (identifier) @local.name)]
    value: [(call_expression function: [(identifier) (qualified_identifier)] @local.type)
            (new_expression type: (_) @local.type)]))
(declaration
  type: (placeholder_type_specifier)
  declarator: (init_declarator
    declarator: (identifier) @local.name
    value: (call_expression
      function: (qualified_identifier
        name: (template_function
          name: (identifier) @_make
          arguments: (template_argument_list . (type_descriptor type: (_) @local.type))))))
  (#match? @_make "^make_(unique|shared)$"))

;; `for (const Line &line : lines_)`
(for_range_loop
  type: [(type_identifier) (qualified_identifier) (template_type)] @local.type
  declarator: [(identifier) @local.name
               (pointer_declarator declarator: (identifier) @local.name)
               (reference_declarator (identifier) @local.name)])

;; parameters: `Foo f`, `const Foo &f`, `Foo *f`, `Foo f = Foo()`; `catch (const Err &e)`
([(parameter_declaration
    type: [(type_identifier) (qualified_identifier) (template_type)] @local.type
    declarator: [(identifier) @local.name
                 (pointer_declarator declarator: (identifier) @local.name)
                 (reference_declarator (identifier) @local.name)])
  (optional_parameter_declaration
    type: [(type_identifier) (qualified_identifier) (template_type)] @local.type
    declarator: [(identifier) @local.name
                 (pointer_declarator declarator: (identifier) @local.name)
                 (reference_declarator (identifier) @local.name)])])

;; members: `Store *store_;` gives `store_->save()` a type in every method of the class
(field_declaration
  type: [(type_identifier) (qualified_identifier) (template_type)] @local.type
  declarator: [(field_identifier) @local.name
               (pointer_declarator declarator: (field_identifier) @local.name)
               (reference_declarator (field_identifier) @local.name)])

;; -- includes ------------------------------------------------------------------------------

(preproc_include
  path: (string_literal (string_content) @name.reference.import) @import.relative) @reference.import
(preproc_include
  path: (system_lib_string) @name.reference.import) @reference.import

; Anonymous functions: what is defined or declared inside one is not seen outside it.
(lambda_expression) @closure

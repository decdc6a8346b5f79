; C tags for the kg code graph. Capture names are documented in ingest/code.py.
; Only definitions with a body count: prototypes (`int f(void);`) and forward declarations
; (`struct s;`) are not definitions. A bare call `f()` resolves by linkage (LanguageSpec).

(comment) @doc.comment

;; `int f(void) {...}`, `char *f(void) {...}`, `char **f(void) {...}`,
;; `int (*f(void))(int) {...}` (a function that returns a function pointer), and a name
;; made by a macro, `static void FN(Store)(H *h) {...}` (named `FN(Store)`)
(function_definition
  (storage_class_specifier)* @definition.storage
  declarator: [
    (function_declarator declarator: (identifier) @name.definition.function)
    (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name.definition.function))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator declarator: (identifier) @name.definition.function)))
    (function_declarator
      declarator: (function_declarator) @name.definition.function)
    (pointer_declarator
      declarator: (function_declarator
        declarator: (function_declarator) @name.definition.function))
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator
          declarator: (function_declarator declarator: (identifier) @name.definition.function))))]
  body: (compound_statement) @definition.body) @definition.function

(struct_specifier
  name: (type_identifier) @name.definition.struct
  body: (field_declaration_list) @definition.body) @definition.struct
(union_specifier
  name: (type_identifier) @name.definition.union
  body: (field_declaration_list) @definition.body) @definition.union
(enum_specifier
  name: (type_identifier) @name.definition.enum
  body: (enumerator_list) @definition.body) @definition.enum

;; `typedef struct {...} Name;`: the anonymous struct is known by its typedef name
(type_definition
  type: (struct_specifier !name body: (field_declaration_list) @definition.body)
  declarator: (type_identifier) @name.definition.struct) @definition.struct
(type_definition
  type: (union_specifier !name body: (field_declaration_list) @definition.body)
  declarator: (type_identifier) @name.definition.union) @definition.union
(type_definition
  type: (enum_specifier !name body: (enumerator_list) @definition.body)
  declarator: (type_identifier) @name.definition.enum) @definition.enum

;; `s->ops.run(s)` is kept as written (`s.ops.run`): it names no definition by itself
(call_expression function: [(identifier) (field_expression)] @name.reference.call)

;; `#include "x.h"` is relative to the including file; `#include <x.h>` is searched for
(preproc_include
  path: (string_literal (string_content) @name.reference.import) @import.relative) @reference.import
(preproc_include
  path: (system_lib_string) @name.reference.import) @reference.import

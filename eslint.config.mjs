// ESLint for the browser code (widget/): plain ES modules and one classic script (the loader).
import js from "@eslint/js";
import globals from "globals";

/** Every module opts in to type checking (tsconfig.json checks only files that say so). */
const requireTsCheck = {
  meta: { type: "problem", messages: { missing: "Start the file with `// @ts-check`." }, schema: [] },
  create(context) {
    return {
      Program(node) {
        const first = context.sourceCode.getAllComments()[0];
        if (!first || first.type !== "Line" || first.value.trim() !== "@ts-check" || first.range[0] !== 0) {
          context.report({ node, messageId: "missing" });
        }
      },
    };
  },
};

export default [
  { ignores: ["widget/vendor/**", "node_modules/**", ".venv/**", "data/**", "docs/**", "tests/**"] },
  js.configs.recommended,
  {
    files: ["widget/**/*.js"],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.browser },
    plugins: { hub: { rules: { "require-ts-check": requireTsCheck } } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "hub/require-ts-check": "error",
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "no-implicit-globals": "error",
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "no-restricted-syntax": ["error",
        { selector: "ImportDeclaration[source.value=/^\\//]", message: "Import relatively, so the front end works under any URL prefix." },
        { selector: "ImportExpression[source.value=/^\\//]", message: "Import relatively, so the front end works under any URL prefix." },
      ],
    },
  },
  {
    // The loader is a classic script (the embed snippet has no type=module).
    files: ["widget/widget.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: { globals: globals.node },
  },
];

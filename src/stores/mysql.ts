// Placeholder: implemented by its issue.
export {};

// Imports every test file of this folder.
export {};

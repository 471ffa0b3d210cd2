"""Real molecules (ZINC/MOSES-like drug SMILES) shared by the grammar tests."""

SMILES = [
    "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1",
    "C[C@@H]1CC(Nc2cncc(-c3nncn3C)c2)C[C@@H](C)C1",
    "N#Cc1ccc(-c2ccc(O[C@@H](C(=O)N3CCCC3)c3ccccc3)cc2)cc1",
    "CCOC(=O)[C@@H]1CCCN(C(=O)c2nc(-c3ccc(C)cc3)n3c2CCCCC3)C1",
    "N#CC1=C(SCC(=O)Nc2cccc(Cl)c2)N=C([O-])[C@H](C#N)C12CCCCC2",
    "CC[NH+](CC)[C@](C)(CC)[C@H](O)c1cscc1Br",
    "COc1ccc(C(=O)N(C)[C@@H](C)C/C(N)=N/O)cc1O",
    "O=C(Nc1ccc(F)cc1F)Nc1sccc1-c1nc2ccccc2s1",
    "Cc1ccc(C)c(OCC(=O)N/N=C/c2ccc(O)cc2)c1",
    "C[NH+]1CCC[C@@H]1CN1CCC[C@H]1c1ccccc1",
    "O=C([O-])c1ccc2[nH]c(-c3ccccc3)nc2c1",
    "CC(C)OC(=O)C1=C(C)NC(C)=C(C(=O)OC(C)C)C1c1cccc([N+](=O)[O-])c1",
    "C[C@H]1CN(C(=O)c2cc(Br)cn2C)CC[NH2+]1",
    "CCn1c(=O)c2ccccc2n2c(SCC(=O)NC3CC3)nnc12",
    "COc1cc(/C=C/C(=O)O)ccc1OCc1ccccc1",
    "C=CCn1c(S)nnc1-c1ccc(Cl)cc1",
    "O=S(=O)(N1CCCC1)c1ccc2c(c1)CCN2",
    "CC1=CC(=O)c2ccccc2C1=O",
    "FC(F)(F)c1ccc(-n2cncn2)cc1",
    "C1CCCCCCC1",
    "C[13CH3]",
    "C\\C=C\\C",
]


def test_samples_are_distinct_valid_molecules():
    from rdkit import Chem

    assert len(set(SMILES)) == len(SMILES)
    assert all(Chem.MolFromSmiles(s) is not None for s in SMILES)

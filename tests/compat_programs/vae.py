"""A variational autoencoder in the style of PyTorch's VAE example (fc1/fc21/fc22/fc3/fc4,
reparameterize, BCE + KLD loss, Adam, DataLoader), on NumPy-generated data.  The
reparameterization noise comes from NumPy so both libraries draw the same numbers."""
import numpy as np
import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F

D, H, Z = 32, 16, 4
noise = np.random.default_rng(42)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(D, H)
        self.fc21 = nn.Linear(H, Z)
        self.fc22 = nn.Linear(H, Z)
        self.fc3 = nn.Linear(Z, H)
        self.fc4 = nn.Linear(H, D)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.from_numpy(noise.standard_normal(tuple(std.shape)).astype(np.float32))
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, D))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, D), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def numpy_init(model, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))


def main():
    rng = np.random.default_rng(0)
    images = (rng.random((96, D)) > 0.5).astype(np.float32) * 0.9 + 0.05
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images),
                                             torch.zeros(96, dtype=torch.long))
    train_loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=False)
    model = VAE()
    numpy_init(model, 1)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    for epoch in range(1, 4):
        model.train()
        train_loss = 0
        for batch_idx, (data, _) in enumerate(train_loader):
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        print("loss %.8f" % (train_loss / len(train_loader.dataset)))
    model.eval()
    with torch.no_grad():
        sample = model.decode(torch.from_numpy(rng.standard_normal((4, Z)).astype(np.float32)))
        print("loss %.8f" % sample.mean().item())


if __name__ == "__main__":
    main()

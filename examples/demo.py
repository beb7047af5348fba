"""ember in one screen: tensors, views, autograd, and a tiny fit — `import ember as torch` style."""
import ember as torch

torch.manual_seed(0)

# tensors and views share storage, like PyTorch
x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
row = x[1]
row += 100                      # in place through a view
print("x after editing a view of row 1:\n", x)

# autograd: gradients, second derivatives
w = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
y = (w ** 3).sum()
(g,) = torch.autograd.grad(y, w, create_graph=True)
(h,) = torch.autograd.grad(g.sum(), w)
print("dy/dw   =", g.detach())
print("d2y/dw2 =", h)

# fit y = 3x - 1 with gradient descent on tensors alone
xs = torch.linspace(-1, 1, 64).unsqueeze(1)
ys = 3 * xs - 1 + 0.05 * torch.randn(64, 1)
a = torch.zeros(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
for step in range(200):
    loss = ((xs * a + b - ys) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        a -= 0.5 * a.grad
        b -= 0.5 * b.grad
        a.grad.zero_()
        b.grad.zero_()
print(f"fitted a={a.item():.3f} b={b.item():.3f} (true 3, -1), final loss {loss.item():.5f}")
